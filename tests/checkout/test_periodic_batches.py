"""Payment sessions' expiry and stale checkouts' deletion in batches: each handled once, a second
run finds nothing, a failing one does not hold back its batch, two runs at once (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.checkout import services
from backend.checkout.models import Checkout, CheckoutLine
from backend.checkout.reservations import StockReservation
from backend.checkout.sessions import PaymentSession, PaymentSessionState

from ..concurrency import postgresql_race, race
from .helpers import listing, ready_checkout, store
from .test_payment_sessions import guarded_gateway, outcome, start  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)
S = PaymentSessionState


@pytest.fixture
def sessions(db):
    """Six open sessions, one unit each: four the gateway knows (still pending there), two it never saw."""
    vendor, _ = store("Tea House")
    tea = listing(vendor, price="30.00", stock=10)
    outcome("pending")
    made = [start(ready_checkout(lines=[(tea, 1)], email=f"s{i}@example.com")) for i in range(6)]
    PaymentSession.objects.filter(pk__in=[made[1].pk, made[4].pk]).update(psp_reference="")
    return made


def later() -> object:
    return timezone.now() + timedelta(minutes=31)


@pytest.mark.parametrize("batch_size", [1, 4, 100])
def test_expired_sessions_expire_once_in_batches(sessions, guarded_gateway, batch_size):
    guarded_gateway.calls.clear()
    assert services.payment_sessions_expire(batch_size=batch_size) == 0
    moment = later()
    assert services.payment_sessions_expire(now=moment, batch_size=batch_size) == 6
    assert services.payment_sessions_expire(now=moment, batch_size=batch_size) == 0
    assert set(PaymentSession.objects.values_list("state", flat=True)) == {S.EXPIRED}
    assert not StockReservation.objects.exists()
    # Only the sessions the gateway knows are asked and closed there.
    assert guarded_gateway.calls.count("query_payment_session") == 4
    assert guarded_gateway.calls.count("close_payment_session") == 4


def test_a_failing_session_does_not_hold_back_the_rest_of_its_batch(sessions, monkeypatch):
    bad = sessions[4].pk
    original = services._expire_sessions

    def broken(batch):
        if any(session.pk == bad for session in batch):
            raise RuntimeError("this session cannot expire")
        return original(batch)

    monkeypatch.setattr(services, "_expire_sessions", broken)
    moment = later()
    assert services.payment_sessions_expire(now=moment, batch_size=100) == 5
    assert PaymentSession.objects.get(pk=bad).state == S.PENDING
    assert StockReservation.objects.filter(session_id=bad).count() == 1
    monkeypatch.setattr(services, "_expire_sessions", original)
    assert services.payment_sessions_expire(now=moment, batch_size=100) == 1
    assert not StockReservation.objects.exists()


@postgresql_race
def test_two_runs_at_once_expire_each_session_once(sessions):
    moment = later()
    results = race(lambda _i: services.payment_sessions_expire(now=moment, batch_size=2), 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 6
    assert set(PaymentSession.objects.values_list("state", flat=True)) == {S.EXPIRED}
    assert not StockReservation.objects.exists()


@pytest.fixture
def stale(settings, db):
    vendor, _ = store("Tea House")
    tea = listing(vendor, price="30.00", stock=10)
    old = [ready_checkout(lines=[(tea, 1)], email=f"s{i}@example.com") for i in range(5)]
    Checkout.objects.filter(pk__in=[c.pk for c in old]).update(
        updated_at=timezone.now() - timedelta(days=settings.CHECKOUT_TTL_DAYS + 1)
    )
    kept = ready_checkout(lines=[(tea, 1)], email="recent@example.com")
    return old, kept


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_stale_checkouts_are_deleted_once_in_batches(stale, batch_size):
    old, kept = stale
    assert services.checkouts_delete_stale(batch_size=batch_size) == 5
    assert services.checkouts_delete_stale(batch_size=batch_size) == 0
    assert list(Checkout.objects.values_list("pk", flat=True)) == [kept.pk]
    assert CheckoutLine.objects.count() == 1


def test_a_checkout_that_cannot_go_does_not_hold_back_the_rest_of_its_batch(stale, monkeypatch):
    old, kept = stale
    bad = old[2].pk
    original = services._delete_checkouts

    def broken(queryset, ids):
        if bad in ids:
            raise RuntimeError("this checkout cannot be deleted")
        return original(queryset, ids)

    monkeypatch.setattr(services, "_delete_checkouts", broken)
    assert services.checkouts_delete_stale(batch_size=100) == 4
    assert set(Checkout.objects.values_list("pk", flat=True)) == {kept.pk, bad}
    monkeypatch.setattr(services, "_delete_checkouts", original)
    assert services.checkouts_delete_stale(batch_size=100) == 1


@postgresql_race
def test_two_sweeps_at_once_in_small_batches_delete_each_checkout_once(stale):
    results = race(lambda _i: services.checkouts_delete_stale(batch_size=2), 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 5
    assert Checkout.objects.count() == 1
