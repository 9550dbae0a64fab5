"""Quota use under concurrent shipment creation: exactly the quota gets the guarantee."""

from backend.core.exceptions import DomainError
from backend.logistics.models import CarrierQuota, CarrierQuotaUsage, QuotaExhaustedPolicy, Region, Shipment
from backend.logistics.services import shipment_create
from plugins.manager import PluginsManager

from ..concurrency import POSTGRESQL_RACE, race
from .conftest import TABLE_RATE, shipment_request

THREADS = 8
QUOTA = 3

pytestmark = POSTGRESQL_RACE


def create_concurrently(vendor) -> tuple[list[Shipment], list[DomainError]]:
    results = race(
        lambda index: shipment_create(request=shipment_request(vendor, reference=f"order-{index}"), manager=PluginsManager()),
        THREADS,
    )
    crashed = [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    assert not crashed, crashed
    created = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
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
