"""Campaign units under concurrent checkouts on PostgreSQL: threads completing at once never sell
more units at the campaign price than the enrolment's quantity; the late ones pay the regular price."""

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from backend.campaigns.models import CampaignEnrolment, CampaignPurchase
from backend.finance.ledger import ledger_problems
from backend.orders.models import Order

from ..checkout.helpers import HANGZHOU, complete, listing, ready_checkout, store
from ..concurrency import POSTGRESQL_RACE, race
from ..conftest import make_user
from .helpers import DAY, HOUR, approved, campaign

pytestmark = POSTGRESQL_RACE


def test_ten_shoppers_race_for_three_units_at_the_campaign_price():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="100.00", stock=50)
    now = timezone.now()
    festival = campaign(starts=now - HOUR, ends=now + DAY, deadline=now - 2 * HOUR)  # live now
    enrolment = approved(owner, festival, variant, price="1.00", quantity=3, now=now - 3 * HOUR)
    shoppers = [make_user() for _ in range(10)]
    checkouts = [ready_checkout(s, [(variant, 1)]) for s in shoppers]

    results = race(lambda i: complete(checkouts[i], user=shoppers[i]), 10)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert CampaignEnrolment.objects.get(pk=enrolment.pk).sold_count == 3
    assert CampaignPurchase.objects.aggregate(units=Sum("quantity"))["units"] == 3
    assert sorted(Order.objects.values_list("discount_amount", flat=True)) == [Decimal("0.00")] * 7 + [Decimal("99.00")] * 3
    assert sorted(r.payment.amount for r in results) == sorted(r.orders[0].total_amount for r in results)
    assert ledger_problems() == []
