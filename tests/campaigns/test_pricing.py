"""Campaign prices on the checkout's one pricing path: only in the window, store-funded, before
vouchers, commission on the campaign price, units counted and given back, flash sales first."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from freezegun import freeze_time

from backend.campaigns import services
from backend.campaigns.models import CampaignEnrolment, CampaignPurchase
from backend.campaigns.pricing import redeem_campaign_units
from backend.checkout.services import checkout_summary
from backend.core.exceptions import DomainError
from backend.finance.ledger import ledger_problems
from backend.orders import services as orders_services
from backend.promotions.flash_sales import FlashSaleInput, flash_sale_create
from backend.promotions.models import OrderDiscount

from ..checkout.helpers import GUANGZHOU, HANGZHOU, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..promotions.helpers import cny, platform_voucher, release
from .helpers import HOUR, approved, campaign, campaign_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    staff = campaign_staff()
    return SimpleNamespace(
        tea=tea, tea_owner=tea_owner, silk=silk, silk_owner=silk_owner, shopper=make_user(), staff=staff,
        green=listing(tea, price="100.00", stock=20), scarf=listing(silk, price="200.00", stock=20),
        festival=campaign(staff, name="Double 11", badge="双11", min_discount_percent=Decimal(10)),
    )


def test_the_campaign_price_applies_in_the_window_only(world):
    w = world
    approved(w.tea_owner, w.festival, w.green, staff=w.staff, price="70.00")
    checkout = ready_checkout(w.shopper, [(w.green, 2)])
    assert checkout_summary(checkout).discount == cny("0.00")  # before the window
    with freeze_time(w.festival.starts_at):
        summary = checkout_summary(checkout)
        (package,) = summary.packages
        assert package.discount == cny("60.00")  # (100 - 70) x 2
        (adjustment,) = package.pricing.adjustments
        assert (adjustment.source, adjustment.funder, adjustment.label) == ("campaign", "store", "双11")
    with freeze_time(w.festival.ends_at):
        assert checkout_summary(checkout).discount == cny("0.00")
    with freeze_time(w.festival.starts_at + HOUR):  # cancelled: the prices stop at once
        services.campaign_cancel(actor=w.staff, campaign_id=w.festival.pk)
        assert checkout_summary(checkout).discount == cny("0.00")


def test_pending_rejected_and_withdrawn_enrolments_price_nothing(world):
    w = world
    pending = services.campaign_enrol(actor=w.tea_owner, campaign_id=w.festival.pk, variant_id=w.green.pk, price="70.00")
    checkout = ready_checkout(w.shopper, [(w.green, 1)])
    with freeze_time(w.festival.starts_at + HOUR):
        assert checkout_summary(checkout).discount == cny("0.00")
    services.campaign_withdraw(actor=w.tea_owner, enrolment_id=pending.pk)
    with freeze_time(w.festival.starts_at + HOUR):
        assert checkout_summary(checkout).discount == cny("0.00")


def test_two_stores_a_campaign_item_and_a_platform_voucher_ledger_and_commission(world):
    w = world
    enrolment = approved(w.tea_owner, w.festival, w.green, staff=w.staff, price="70.00", quantity=5)
    platform_voucher(code="FEST20", value="20", min_spend="300")
    with freeze_time(w.festival.starts_at + HOUR):
        checkout = ready_checkout(w.shopper, [(w.green, 2), (w.scarf, 1)])
        from backend.promotions import services as promotions

        # 140 at the campaign price + 200: the threshold counts the price paid.
        promotions.checkout_voucher_apply(checkout=checkout, user=w.shopper, code="FEST20")
        result = complete(checkout, user=w.shopper)
        tea_order = next(o for o in result.orders if o.vendor_id == w.tea.pk)
        silk_order = next(o for o in result.orders if o.vendor_id == w.silk.pk)
        campaign_row = OrderDiscount.objects.get(order=tea_order, source="campaign")
        assert (campaign_row.funder, campaign_row.amount, campaign_row.label) == ("store", Decimal("60.00"), "双11")
        # The platform voucher split pro rata on 140 and 200 (8.24 and 11.76), paid by the platform.
        assert OrderDiscount.objects.get(order=tea_order, source="voucher").funder == "platform"
        assert tea_order.discount_amount + silk_order.discount_amount == Decimal("80.00")
        enrolment.refresh_from_db()
        assert enrolment.sold_count == 2
        assert CampaignPurchase.objects.get(enrolment=enrolment).order_id == tea_order.pk
        release(tea_order, w.tea_owner, w.shopper)
        tea_order.refresh_from_db()
        line = tea_order.lines.get()
        # Commission on the price paid plus the platform's subsidy, as for flash sales: the store's
        # campaign discount is not in the base, the platform's voucher share is.
        platform_part = OrderDiscount.objects.get(order=tea_order, source="voucher").amount
        assert line.commission_base == cny(Decimal("140.00"))
        assert tea_order.subsidy_amount == platform_part
        assert ledger_problems() == []


def test_units_past_the_quantity_pay_the_regular_price_and_a_cancel_gives_them_back(world):
    w = world
    enrolment = approved(w.tea_owner, w.festival, w.green, staff=w.staff, price="70.00", quantity=3)
    with freeze_time(w.festival.starts_at + HOUR):
        checkout = ready_checkout(w.shopper, [(w.green, 4)])
        summary = checkout_summary(checkout)
        assert summary.discount == cny("90.00")  # 3 at 70, the fourth at 100
        assert list(summary.pricing.campaign_units.values()) == [(enrolment.pk, 3)]
        (order,) = complete(checkout, user=w.shopper).orders
        assert CampaignEnrolment.objects.get(pk=enrolment.pk).sold_count == 3
        assert checkout_summary(ready_checkout(make_user(), [(w.green, 1)])).discount == cny("0.00")
        orders_services.order_cancel(actor=w.shopper, order=order, reason="Changed my mind")
        assert CampaignEnrolment.objects.get(pk=enrolment.pk).sold_count == 0
        assert CampaignPurchase.objects.get(enrolment=enrolment).released_at is not None
        assert checkout_summary(ready_checkout(make_user(), [(w.green, 1)])).discount == cny("30.00")


def test_a_sold_out_campaign_price_between_showing_and_paying_is_refused(world):
    w = world
    enrolment = approved(w.tea_owner, w.festival, w.green, staff=w.staff, price="70.00", quantity=1)
    with freeze_time(w.festival.starts_at + HOUR):
        shown = checkout_summary(ready_checkout(w.shopper, [(w.green, 1)]))
        assert shown.discount == cny("30.00")
        CampaignEnrolment.objects.filter(pk=enrolment.pk).update(sold_count=1)
        order = SimpleNamespace(pk=0, vendor_id=w.tea.pk)
        with pytest.raises(DomainError) as exc:
            redeem_campaign_units(pricing=shown.pricing, orders=[order], now=timezone.now())
        assert exc.value.code.name == "PRICE_CHANGED"
        assert not CampaignPurchase.objects.exists()


def test_a_flash_sale_created_later_takes_precedence_on_its_line(world):
    w = world
    approved(w.tea_owner, w.festival, w.green, staff=w.staff, price="70.00")
    with freeze_time(w.festival.starts_at + HOUR):
        now = timezone.now()
        flash_sale_create(actor=w.tea_owner, variant_id=w.green.pk, data=FlashSaleInput(
            price="60.00", quantity=5, starts_at=now - HOUR, ends_at=now + HOUR))
        (package,) = checkout_summary(ready_checkout(w.shopper, [(w.green, 1)])).packages
        assert [(a.source, a.amount) for a in package.pricing.adjustments] == [("flash_sale", cny("40.00"))]
