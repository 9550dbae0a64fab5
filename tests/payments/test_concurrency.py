"""Concurrent duplicate payment requests on PostgreSQL charge once."""

from backend.payments.models import Payment
from backend.payments.services import payment_process

from ..concurrency import POSTGRESQL_RACE, race
from ..finance.helpers import cny

pytestmark = POSTGRESQL_RACE


def test_concurrent_duplicates_charge_once(scripted_gateway):
    results = race(
        lambda i: payment_process(gateway="scripted", token="tok", amount=cny(10), idempotency_key="same").pk,
        8,
    )
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Payment.objects.count() == 1
    assert len(scripted_gateway.calls) == 1
