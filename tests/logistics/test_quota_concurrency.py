"""Quota use under concurrent shipment creation: exactly the quota gets the guarantee."""

import threading

import pytest
from django.conf import settings
from django.db import connection

from backend.core.exceptions import DomainError
from backend.logistics.models import CarrierQuota, CarrierQuotaUsage, QuotaExhaustedPolicy, Region, Shipment
from backend.logistics.services import shipment_create
from plugins.manager import PluginsManager

from .conftest import TABLE_RATE, shipment_request

THREADS = 8
QUOTA = 3

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.IS_POSTGRESQL,
        reason="needs PostgreSQL: SQLite has no row locks and its in-memory test database is not shared by threads",
    ),
]


def create_concurrently(vendor) -> tuple[list[Shipment], list[DomainError]]:
    barrier = threading.Barrier(THREADS)
    created, refused, crashed = [], [], []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            created.append(shipment_create(request=shipment_request(vendor, reference=f"order-{index}"), manager=PluginsManager()))
        except DomainError as error:
            refused.append(error)
        except Exception as error:  # reported below; a thread must not die silently
            crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not crashed, crashed
    assert not any(thread.is_alive() for thread in threads)
    return created, refused


def set_quota(policy):
    CarrierQuota.objects.update_or_create(
        carrier_id=TABLE_RATE, origin=Region.objects.get(code="330000"),
        defaults={"daily_limit": QUOTA, "when_exhausted": policy},
    )


def test_exactly_the_quota_keeps_the_time_guarantee(vendor):
    set_quota(QuotaExhaustedPolicy.DROP_GUARANTEE)
    created, refused = create_concurrently(vendor)
    assert refused == [] and len(created) == THREADS
    assert sum(s.time_guaranteed for s in created) == QUOTA
    assert Shipment.objects.filter(quota_usage__isnull=False).count() == QUOTA
    assert CarrierQuotaUsage.objects.get(quota__carrier_id=TABLE_RATE, quota__origin__code="330000").used == QUOTA


def test_exactly_the_quota_is_booked_when_the_service_hides(vendor):
    set_quota(QuotaExhaustedPolicy.HIDE_SERVICE)
    created, refused = create_concurrently(vendor)
    assert len(created) == QUOTA and Shipment.objects.count() == QUOTA
    assert [e.code.name for e in refused] == ["CAPACITY_EXHAUSTED"] * (THREADS - QUOTA)
    assert CarrierQuotaUsage.objects.get(quota__carrier_id=TABLE_RATE, quota__origin__code="330000").used == QUOTA
