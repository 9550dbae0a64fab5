"""The dispute state machine, transition by transition, and the names the policy plugins rely on."""

import pytest

from backend.core.exceptions import DomainError
from backend.disputes.models import DisputeStatus as S
from backend.disputes.models import RulingOutcome
from backend.disputes.state_machines import DISPUTE_STATUS
from plugins.arbitration.interface import DisputeState, Outcome

ALLOWED = {
    (S.OPEN, S.AWAITING_VENDOR),
    (S.AWAITING_VENDOR, S.RESOLVED),
    (S.AWAITING_VENDOR, S.AWAITING_RETURN),
    (S.AWAITING_VENDOR, S.AWAITING_BUYER),
    (S.AWAITING_VENDOR, S.UNDER_ARBITRATION),
    (S.AWAITING_VENDOR, S.CLOSED),
    (S.AWAITING_BUYER, S.UNDER_ARBITRATION),
    (S.AWAITING_BUYER, S.CLOSED),
    (S.UNDER_ARBITRATION, S.RESOLVED),
    (S.UNDER_ARBITRATION, S.AWAITING_RETURN),
    (S.UNDER_ARBITRATION, S.CLOSED),
    (S.AWAITING_RETURN, S.RETURN_SHIPPED),
    (S.AWAITING_RETURN, S.UNDER_ARBITRATION),
    (S.AWAITING_RETURN, S.CLOSED),
    (S.RETURN_SHIPPED, S.RESOLVED),
    (S.RETURN_SHIPPED, S.UNDER_ARBITRATION),
    (S.RESOLVED, S.CLOSED),
}


@pytest.mark.parametrize("source", S.values)
@pytest.mark.parametrize("target", S.values)
def test_every_transition(source, target):
    assert DISPUTE_STATUS.can(source, target) == ((source, target) in ALLOWED)
    if (source, target) not in ALLOWED:
        with pytest.raises(DomainError) as exc_info:
            DISPUTE_STATUS.check(source, target)
        assert exc_info.value.code.name == "INVALID_TRANSITION"


def test_closed_is_final_and_every_state_is_reachable():
    assert DISPUTE_STATUS.allowed(S.CLOSED) == frozenset()
    reachable, frontier = {S.OPEN}, [S.OPEN]
    while frontier:
        for target in DISPUTE_STATUS.allowed(frontier.pop()):
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(S.values)


def test_models_use_the_plugin_contract_names():
    assert set(S.values) == {v for k, v in vars(DisputeState).items() if not k.startswith("_")}
    assert set(RulingOutcome.values) == {Outcome.REFUND_FULL, Outcome.REFUND_PARTIAL, Outcome.REJECT}
