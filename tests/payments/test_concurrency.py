"""Concurrent duplicate payment requests on PostgreSQL charge once."""

import pytest
from django.conf import settings

from backend.payments.models import Payment
from backend.payments.services import payment_process

from ..finance.helpers import cny
from ..finance.test_concurrency import race

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(
        not settings.IS_POSTGRESQL,
        reason="needs PostgreSQL: SQLite has no row locks; set DATABASE_URL to a PostgreSQL database to run",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_duplicates_charge_once(scripted_gateway):
    results = race(
        lambda i: payment_process(gateway="scripted", token="tok", amount=cny(10), idempotency_key="same").pk
    )
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Payment.objects.count() == 1
    assert len(scripted_gateway.calls) == 1
