"""Every transition of the application and vendor machines: the allowed ones work, all others are refused."""

from itertools import product
from types import SimpleNamespace

import pytest

from backend.core.exceptions import DomainError
from backend.vendors.error_codes import VendorErrorCode
from backend.vendors.models import ApplicationStatus, VendorStatus
from backend.vendors.services import APPLICATION_MACHINE, VENDOR_MACHINE

A = ApplicationStatus
V = VendorStatus

APPLICATION_ALLOWED = {
    (A.SUBMITTED, A.APPROVED),
    (A.SUBMITTED, A.REJECTED),
    (A.SUBMITTED, A.INFO_REQUESTED),
    (A.INFO_REQUESTED, A.SUBMITTED),
}
VENDOR_ALLOWED = {
    (V.ONBOARDING, V.ACTIVE),
    (V.ONBOARDING, V.CLOSED),
    (V.ACTIVE, V.SUSPENDED),
    (V.ACTIVE, V.CLOSING),
    # Fee or deposit short while trading (finance.standing), paid again, or the deadline passed.
    (V.ACTIVE, V.RESTRICTED),
    (V.RESTRICTED, V.ACTIVE),
    (V.RESTRICTED, V.SUSPENDED),
    (V.RESTRICTED, V.CLOSING),
    (V.SUSPENDED, V.ACTIVE),
    (V.SUSPENDED, V.CLOSING),
    (V.CLOSING, V.CLOSED),
}


class Row(SimpleNamespace):
    """Stands in for a model row: apply() saves through save(update_fields=...)."""

    _meta = SimpleNamespace(concrete_fields=[])

    def save(self, update_fields):
        self.saved = update_fields


def pairs(choices):
    return list(product(choices.values, repeat=2))


def test_machines_cover_every_status():
    assert APPLICATION_MACHINE.states == set(ApplicationStatus.values)
    assert VENDOR_MACHINE.states == set(VendorStatus.values)


@pytest.mark.parametrize(("machine", "choices", "allowed"), [
    (APPLICATION_MACHINE, ApplicationStatus, APPLICATION_ALLOWED),
    (VENDOR_MACHINE, VendorStatus, VENDOR_ALLOWED),
], ids=["application", "vendor"])
def test_every_pair(machine, choices, allowed):
    for source, target in pairs(choices):
        row = Row(status=source)
        if (source, target) in allowed:
            machine.apply(row, target)
            assert row.status == target and row.saved == ["status"]
        else:
            with pytest.raises(DomainError) as refused:
                machine.apply(row, target)
            assert refused.value.code is VendorErrorCode.INVALID_TRANSITION
            assert row.status == source


def test_vendor_actions_use_only_machine_transitions_and_cover_them_all():
    from backend.vendors.services import VENDOR_ACTIONS

    used = {(source, target) for moves in VENDOR_ACTIONS.values() for source, target in moves.items()}
    assert used == VENDOR_ALLOWED
