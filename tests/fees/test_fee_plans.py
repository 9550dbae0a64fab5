"""Fee plans and commission overrides: inheritance, effective dates, precedence, rounding, permissions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time
from moneyed import Money

from backend.core.audit import audit_trail
from backend.core.exceptions import DomainError
from backend.finance import fees
from backend.finance.commission import commission_for, commission_return_for
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.models import FeePlan
from backend.orders.commission import commission_rate_for as order_line_rate

from ..factories import CategoryFactory, VendorFactory, vendor_with_owner
from ..graphql_client import error_codes
from .conftest import api_for, gid

pytestmark = pytest.mark.django_db

PLAN_UPDATE = """
mutation($category: ID!, $input: CategoryFeePlanInput!) {
  categoryFeePlanUpdate(category: $category, input: $input) {
    feePlan { id effectiveFrom annualFee { amount currency } commissionRate depositAmount { amount }
              feeRebateRules { threshold { amount } fraction } category { slug } }
    errors { field code message }
  }
}"""
TERMS = """
query($category: ID!, $at: DateTime) {
  categoryFeeTerms(category: $category, at: $at) {
    annualFee { amount } commissionRate depositAmount { amount } feeRebateRules { threshold { amount } fraction }
    plan { id } inheritedFrom { slug }
  }
}"""
OVERRIDE = """
mutation($vendor: ID!, $category: ID, $rate: Decimal, $from: DateTime) {
  vendorCommissionOverride(vendor: $vendor, category: $category, rate: $rate, effectiveFrom: $from) {
    commissionOverride { rate category { slug } effectiveFrom }
    errors { field code }
  }
}"""


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def test_a_category_without_a_plan_inherits_its_parents_and_else_the_defaults(plans, settings):
    now = timezone.now()
    phones = fees.fee_terms_for(plans["phones"], now)
    assert phones.plan.category == plans["digital"]
    assert (phones.annual_fee, phones.commission_rate, phones.deposit) == (cny("60000.00"), Decimal("0.0500"), cny("50000.00"))
    lonely = CategoryFactory()
    settings.DEFAULT_COMMISSION_RATE = Decimal("0.08")
    settings.FEE_DEFAULT_ANNUAL_FEE = Decimal("100.00")
    default = fees.fee_terms_for(lonely, now)
    assert default.plan is None
    assert (default.annual_fee, default.commission_rate, default.deposit) == (cny("100.00"), Decimal("0.08"), cny(0))


def test_effective_dates_never_rewrite_the_past(plans, finance_staff):
    start = timezone.now()
    # A change announced for next month: today's terms stay, next month's follow the new plan.
    fees.category_fee_plan_update(
        actor=finance_staff, category=plans["digital"], commission_rate=Decimal("0.06"),
        effective_from=start + timedelta(days=30),
    )
    assert fees.fee_terms_for(plans["phones"], start + timedelta(days=29)).commission_rate == Decimal("0.0500")
    later = fees.fee_terms_for(plans["phones"], start + timedelta(days=30))
    # Terms not given are kept from the plan in force then.
    assert (later.commission_rate, later.annual_fee) == (Decimal("0.0600"), cny("60000.00"))
    # The child's own plan, once in force, beats the parent's; before that the parent's applies.
    fees.category_fee_plan_update(
        actor=finance_staff, category=plans["phones"], commission_rate=Decimal("0.04"),
        effective_from=start + timedelta(days=10),
    )
    assert fees.fee_terms_for(plans["phones"], start + timedelta(days=9)).plan.category == plans["digital"]
    assert fees.fee_terms_for(plans["phones"], start + timedelta(days=40)).commission_rate == Decimal("0.0400")
    # The past cannot be changed, and no row was ever edited.
    with pytest.raises(DomainError) as refused:
        fees.category_fee_plan_update(
            actor=finance_staff, category=plans["digital"], annual_fee=Decimal("1"), effective_from=start - timedelta(days=1)
        )
    assert (refused.value.code, refused.value.field) == (FinanceErrorCode.INVALID, "effectiveFrom")
    assert FeePlan.objects.filter(category=plans["digital"]).count() == 2


def test_category_fee_plan_update_through_the_api(plans, finance_staff, merchant):
    vendor, owner = merchant
    variables = {
        "category": gid("Category", plans["laptops"]),
        "input": {"commissionRate": "0.03", "feeRebateRules": [{"threshold": "900000", "fraction": "1"},
                                                                {"threshold": "300000", "fraction": "0.5"}]},
    }
    # Merchants and staff without MANAGE_FINANCE may not set plans.
    assert error_codes(api_for(owner).mutate(PLAN_UPDATE, variables)) == ["PERMISSION_DENIED"]
    payload = api_for(finance_staff).mutate(PLAN_UPDATE, variables)
    assert payload["errors"] == []
    plan = payload["feePlan"]
    assert plan["commissionRate"] == "0.0300"
    assert plan["annualFee"] == {"amount": "60000.00", "currency": "CNY"}  # kept from 3C
    assert plan["feeRebateRules"] == [
        {"threshold": {"amount": "300000.00"}, "fraction": "0.5000"},
        {"threshold": {"amount": "900000.00"}, "fraction": "1.0000"},
    ]
    assert audit_trail(plans["laptops"]).get().action == "fee_plan.update"

    terms = api_for(owner).execute(TERMS, {"category": gid("Category", plans["phones"])})["categoryFeeTerms"]
    assert terms["inheritedFrom"] == {"slug": "3c"} and terms["commissionRate"] == "0.0500"

    bad = api_for(finance_staff).mutate(
        PLAN_UPDATE, {"category": gid("Category", plans["food"]), "input": {"commissionRate": "1.5"}}
    )
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "commissionRate")]
    bad = api_for(finance_staff).mutate(
        PLAN_UPDATE, {"category": gid("Category", plans["food"]), "input": {"annualFee": "10.001"}}
    )
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "annualFee")]
    bad = api_for(finance_staff).mutate(
        PLAN_UPDATE,
        {"category": gid("Category", plans["food"]), "input": {"feeRebateRules": [{"threshold": "0", "fraction": "0.5"}]}},
    )
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "feeRebateRules")]
    assert error_codes(api_for(finance_staff).mutate(
        PLAN_UPDATE, {"category": gid("Category", plans["food"]), "input": {}}
    )) == ["REQUIRED"]


def test_override_precedence(plans, finance_staff):
    vendor = VendorFactory()
    now = timezone.now()
    phones, laptops, food = plans["phones"], plans["laptops"], plans["food"]

    def rate(category, at=None):
        return fees.commission_rate_for(vendor, category, at or timezone.now())

    assert (rate(phones), rate(food)) == (Decimal("0.0500"), Decimal("0.0200"))
    # A vendor-wide override beats every plan...
    fees.vendor_commission_override(actor=finance_staff, vendor=vendor, category=None, rate=Decimal("0.045"))
    assert (rate(phones), rate(food)) == (Decimal("0.0450"), Decimal("0.0450"))
    # ...an override on the parent category beats the vendor-wide one for its children...
    fees.vendor_commission_override(actor=finance_staff, vendor=vendor, category=plans["digital"], rate=Decimal("0.04"))
    assert (rate(phones), rate(laptops), rate(food)) == (Decimal("0.0400"), Decimal("0.0400"), Decimal("0.0450"))
    # ...and the category's own override beats its parent's.
    fees.vendor_commission_override(actor=finance_staff, vendor=vendor, category=phones, rate=Decimal("0.03"))
    assert (rate(phones), rate(laptops)) == (Decimal("0.0300"), Decimal("0.0400"))
    # Overrides have effective dates too; a null rate ends one.
    fees.vendor_commission_override(
        actor=finance_staff, vendor=vendor, category=phones, rate=None, effective_from=now + timedelta(days=7)
    )
    assert rate(phones, now + timedelta(days=6)) == Decimal("0.0300")
    assert rate(phones, now + timedelta(days=7)) == Decimal("0.0400")
    # Another vendor is not touched.
    assert fees.commission_rate_for(VendorFactory(), phones, now) == Decimal("0.0500")
    # The order line takes the same rule at placement.
    assert order_line_rate(vendor, phones, now + timedelta(days=8)) == Decimal("0.0400")


def test_commission_override_through_the_api(plans, finance_staff, merchant):
    vendor, owner = merchant
    variables = {"vendor": gid("Vendor", vendor), "category": gid("Category", plans["phones"]), "rate": "0.035"}
    assert error_codes(api_for(owner).mutate(OVERRIDE, variables)) == ["PERMISSION_DENIED"]
    payload = api_for(finance_staff).mutate(OVERRIDE, variables)
    assert payload == {
        "commissionOverride": {"rate": "0.0350", "category": {"slug": "phones"}, "effectiveFrom": payload["commissionOverride"]["effectiveFrom"]},
        "errors": [],
    }
    past = api_for(finance_staff).mutate(OVERRIDE, {**variables, "from": "2001-01-01T00:00:00+00:00"})
    assert [(e["code"], e["field"]) for e in past["errors"]] == [("INVALID", "effectiveFrom")]
    assert error_codes(api_for(finance_staff).mutate(OVERRIDE, {**variables, "rate": "0.12345"})) == ["INVALID"]
    listed = api_for(owner).execute(
        "query($v: ID!) { vendorCommissionOverrides(vendor: $v) { rate } }", {"v": gid("Vendor", vendor)}
    )["vendorCommissionOverrides"]
    assert listed == [{"rate": "0.0350"}]
    # Another merchant sees none of it.
    _other, stranger = vendor_with_owner()
    assert api_for(stranger).execute(
        "query($v: ID!) { vendorCommissionOverrides(vendor: $v) { rate } }", {"v": gid("Vendor", vendor)}
    )["vendorCommissionOverrides"] == []


@pytest.mark.parametrize(
    ("amount", "rate", "commission"),
    [
        ("99.90", "0.05", "5.00"),  # 4.995 rounds half up
        ("10.10", "0.05", "0.51"),  # 0.505
        ("10.09", "0.05", "0.50"),  # 0.5045 rounds down
        ("0.01", "0.05", "0.00"),
        ("33.33", "0.0333", "1.11"),  # 1.109889
        ("100.00", "0", "0.00"),
        ("100.00", "1", "100.00"),
    ],
)
def test_commission_rounding_is_half_up_to_the_cent(amount, rate, commission):
    assert commission_for(cny(amount), Decimal(rate)) == cny(commission)


def test_commission_returned_pro_rata_adds_up_to_what_was_taken():
    gross, taken = cny("99.90"), commission_for(cny("99.90"), Decimal("0.05"))
    parts = [cny("33.30"), cny("33.30"), cny("33.30")]
    returned, before = [], cny(0)
    for part in parts:
        returned.append(commission_return_for(gross=gross, commission=taken, refunded_before=before, refund=part))
        before += part
    assert sum((r.amount for r in returned), Decimal(0)) == taken.amount == Decimal("5.00")
    assert [r.amount for r in returned] == [Decimal("1.67"), Decimal("1.66"), Decimal("1.67")]


def test_rates_are_decimals_with_at_most_four_places(finance_staff, tree):
    for bad in ("-0.01", "1.01", "0.00001", "abc", 0.05):
        with pytest.raises(DomainError):
            fees.category_fee_plan_update(actor=finance_staff, category=tree["food"], commission_rate=bad)
    assert not FeePlan.objects.exists()


@freeze_time("2026-03-01 10:00:00")
def test_a_placed_line_keeps_its_rate(plans, finance_staff):
    """The rate is read at placement; a later plan change leaves placed lines alone (they store the rate)."""
    from ..checkout.helpers import complete, listing, ready_checkout, store

    vendor, _owner = store()
    variant = listing(vendor, price="99.90")
    variant.product.category = plans["phones"]
    variant.product.save(update_fields=["category"])
    from ..conftest import make_user

    result = complete(ready_checkout(make_user(), [(variant, 1)]))
    (order,) = result.orders
    line = order.lines.get()
    assert line.commission_rate == Decimal("0.0500")
    fees.category_fee_plan_update(actor=finance_staff, category=plans["digital"], commission_rate=Decimal("0.08"))
    line.refresh_from_db()
    assert line.commission_rate == Decimal("0.0500")
    from backend.orders.services import order_commission

    assert order_commission(order) == cny("5.00")
