"""Fee plans per category and commission overrides per vendor: what selling costs, when.

A plan or override is never edited: a change is a new row with its own
effective_from, which may not lie in the past, so every order line, fee year
and deposit requirement already decided keeps the terms it was decided on.
A category without a plan in force inherits its nearest ancestor's; with none
anywhere, the settings defaults apply (FEE_DEFAULT_*, DEFAULT_COMMISSION_RATE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from backend.catalog.models import Category
from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import amount_from_input, parse_amount
from backend.core.permissions import PlatformPermission, require_permission
from backend.vendors.models import Vendor

from .error_codes import FinanceErrorCode
from .models import FeePlan, VendorCommissionOverride

RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class FeeTerms:
    """The terms in force for one category at one moment, and where they came from."""

    annual_fee: Money
    commission_rate: Decimal
    deposit: Money
    rebate_rules: list
    plan: FeePlan | None  # None: the settings defaults

    @property
    def source_category_id(self) -> int | None:
        return self.plan.category_id if self.plan is not None else None


def default_terms() -> FeeTerms:
    currency = settings.DEFAULT_CURRENCY
    return FeeTerms(
        annual_fee=Money(parse_amount(settings.FEE_DEFAULT_ANNUAL_FEE, currency), currency),
        commission_rate=Decimal(str(settings.DEFAULT_COMMISSION_RATE)),
        deposit=Money(parse_amount(settings.FEE_DEFAULT_DEPOSIT, currency), currency),
        rebate_rules=[],
        plan=None,
    )


def terms_of(plan: FeePlan | None) -> FeeTerms:
    if plan is None:
        return default_terms()
    return FeeTerms(
        annual_fee=Money(plan.annual_fee, plan.currency),
        commission_rate=plan.commission_rate,
        deposit=Money(plan.deposit_amount, plan.currency),
        rebate_rules=list(plan.rebate_rules or []),
        plan=plan,
    )


class PlanBook:
    """Every fee plan and the category tree, read in two queries, for look-ups at any moment.

    Both tables are small; one book serves a whole request or a batch job.
    """

    def __init__(self):
        self.parent_of: dict[int, int | None] = dict(Category.objects.values_list("id", "parent_id"))
        self.plans: dict[int, list[FeePlan]] = {}
        for plan in FeePlan.objects.order_by("-effective_from", "-id"):
            self.plans.setdefault(plan.category_id, []).append(plan)

    def plan_for(self, category_id: int | None, at: datetime) -> FeePlan | None:
        """The plan in force at `at` for the category, inherited from the nearest ancestor."""
        node, seen = category_id, set()
        while node is not None and node not in seen:
            seen.add(node)
            for plan in self.plans.get(node, ()):
                if plan.effective_from <= at:
                    return plan
            node = self.parent_of.get(node)
        return None

    def terms(self, category_id: int | None, at: datetime) -> FeeTerms:
        return terms_of(self.plan_for(category_id, at))

    def chain(self, category_id: int | None) -> list[int]:
        """The category and its ancestors, nearest first."""
        chain, node = [], category_id
        while node is not None and node not in chain:
            chain.append(node)
            node = self.parent_of.get(node)
        return chain


def fee_terms_for(category, at: datetime | None = None) -> FeeTerms:
    """The terms in force for a category (a Category or its id) at `at` (now)."""
    return PlanBook().terms(getattr(category, "pk", category), at or timezone.now())


# --- Commission --------------------------------------------------------------------


def commission_rate_for(vendor, category, at: datetime | None = None, *, book: PlanBook | None = None) -> Decimal:
    """The commission rate of a line of `vendor` in `category` placed at `at`.

    Precedence: the vendor's override for the category (or its nearest ancestor
    with one), then the vendor's override for all categories, then the category
    plan (inherited), then settings.DEFAULT_COMMISSION_RATE.
    """
    at = at or timezone.now()
    book = book or PlanBook()
    category_id = getattr(category, "pk", category)
    vendor_id = getattr(vendor, "pk", vendor)
    latest: dict[int | None, VendorCommissionOverride] = {}
    if vendor_id is not None:
        for override in VendorCommissionOverride.objects.filter(vendor_id=vendor_id, effective_from__lte=at).order_by(
            "-effective_from", "-id"
        ):
            latest.setdefault(override.category_id, override)
    for node in [*book.chain(category_id), None]:
        override = latest.get(node)
        if override is not None and override.rate is not None:
            return override.rate
    return book.terms(category_id, at).commission_rate


def commission_rates_for(pairs: Iterable[tuple[int, int | None]], at: datetime | None = None) -> dict[tuple[int, int | None], Decimal]:
    """commission_rate_for of many (vendor id, category id) pairs in three queries (the plan book
    and every vendor's overrides), for placing several orders at once."""
    at = at or timezone.now()
    pairs = set(pairs)
    book = PlanBook()
    latest: dict[int, dict[int | None, VendorCommissionOverride]] = {}
    vendor_ids = {vendor_id for vendor_id, _category in pairs if vendor_id is not None}
    for override in VendorCommissionOverride.objects.filter(vendor_id__in=vendor_ids, effective_from__lte=at).order_by(
        "-effective_from", "-id"
    ):
        latest.setdefault(override.vendor_id, {}).setdefault(override.category_id, override)
    rates = {}
    for vendor_id, category_id in pairs:
        rates[(vendor_id, category_id)] = book.terms(category_id, at).commission_rate
        overrides = latest.get(vendor_id, {})
        for node in [*book.chain(category_id), None]:
            override = overrides.get(node)
            if override is not None and override.rate is not None:
                rates[(vendor_id, category_id)] = override.rate
                break
    return rates


# --- Fees and deposits a vendor owes -----------------------------------------------------


def vendor_category_ids(vendor_ids: Iterable[int]) -> dict[int, list[int]]:
    """Several vendors' categories in one query."""
    found: dict[int, list[int]] = {int(v): [] for v in vendor_ids}
    rows = Vendor.categories.through.objects.filter(vendor_id__in=list(found)).values_list("vendor_id", "category_id")
    for vendor_id, category_id in rows:
        found[vendor_id].append(category_id)
    return found


def _highest(terms: list[FeeTerms], key) -> FeeTerms:
    if not terms:
        return default_terms()
    # The first of equal highest wins, so the choice does not depend on set order.
    return max(terms, key=key)


def entry_fee_terms(vendor, at: datetime, *, book: PlanBook | None = None, category_ids=None) -> FeeTerms:
    """The terms setting a vendor's annual fee at `at`: the highest fee among its categories."""
    book = book or PlanBook()
    vendor_id = int(getattr(vendor, "pk", vendor))
    if category_ids is None:
        category_ids = vendor_category_ids([vendor_id])[vendor_id]
    terms = [book.terms(c, at) for c in sorted(category_ids)]
    return _highest(terms, key=lambda t: t.annual_fee.amount)


def deposit_required(vendor, at: datetime | None = None, *, book: PlanBook | None = None, category_ids=None) -> Money:
    """The deposit a vendor must keep: the highest among its categories' plans in force."""
    book = book or PlanBook()
    vendor_id = int(getattr(vendor, "pk", vendor))
    if category_ids is None:
        category_ids = vendor_category_ids([vendor_id])[vendor_id]
    terms = [book.terms(c, at or timezone.now()) for c in sorted(category_ids)]
    return _highest(terms, key=lambda t: t.deposit.amount).deposit


def deposits_required(vendor_ids: Iterable[int], at: datetime | None = None) -> dict[int, Money]:
    """deposit_required for several vendors in three queries."""
    vendor_ids = [int(v) for v in vendor_ids]
    if not vendor_ids:
        return {}
    book = PlanBook()
    categories = vendor_category_ids(vendor_ids)
    return {v: deposit_required(v, at, book=book, category_ids=categories[v]) for v in vendor_ids}


# --- Staff set plans and overrides ----------------------------------------------------------


def _effective_from(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value < now:
        raise DomainError(
            FinanceErrorCode.INVALID,
            "A change takes effect now or later; the past is never rewritten.",
            field="effectiveFrom",
        )
    return value


def clean_rate(value, field: str = "commissionRate") -> Decimal:
    if isinstance(value, float):
        raise DomainError(FinanceErrorCode.INVALID, "A rate is a decimal string, never a float.", field=field)
    try:
        rate = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any unparsable input is the same user error
        raise DomainError(FinanceErrorCode.INVALID, f"{value!r} is not a rate.", field=field) from exc
    if not rate.is_finite() or rate < 0 or rate > 1:
        raise DomainError(FinanceErrorCode.INVALID, "A rate is between 0 and 1 (0.05 = 5%).", field=field)
    if rate != rate.quantize(RATE_PLACES):
        raise DomainError(FinanceErrorCode.INVALID, "A rate has at most 4 decimal places.", field=field)
    return rate.quantize(RATE_PLACES)


def _clean_amount(value, field: str) -> Decimal:
    amount = amount_from_input(value, error_code=FinanceErrorCode.INVALID, field=field, currency=settings.DEFAULT_CURRENCY)
    if amount < 0:
        raise DomainError(FinanceErrorCode.INVALID, "An amount cannot be negative.", field=field)
    return amount


def clean_rebate_rules(rules) -> list[dict]:
    """[{threshold, fraction}] with positive thresholds, fractions in (0, 1], sorted by threshold."""
    field = "feeRebateRules"
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise DomainError(FinanceErrorCode.INVALID, "Rebate rules are a list.", field=field)
    cleaned = []
    for rule in rules:
        try:
            threshold = rule["threshold"]
            fraction = rule["fraction"]
        except (KeyError, TypeError) as exc:
            raise DomainError(FinanceErrorCode.INVALID, "Each rule has a threshold and a fraction.", field=field) from exc
        threshold = _clean_amount(threshold, field)
        fraction = clean_rate(fraction, field)
        if threshold <= 0 or fraction <= 0:
            raise DomainError(FinanceErrorCode.INVALID, "Thresholds and fractions are positive.", field=field)
        cleaned.append({"threshold": str(threshold), "fraction": str(fraction)})
    cleaned.sort(key=lambda r: Decimal(r["threshold"]))
    thresholds = [r["threshold"] for r in cleaned]
    if len(set(thresholds)) != len(thresholds):
        raise DomainError(FinanceErrorCode.INVALID, "Each threshold appears once.", field=field)
    return cleaned


def category_fee_plan_update(
    *,
    actor,
    category: Category,
    annual_fee=None,
    commission_rate=None,
    deposit_amount=None,
    rebate_rules=None,
    effective_from: datetime | None = None,
) -> FeePlan:
    """A new plan for the category from effective_from (now) on; fields not given keep the
    terms in force then (the category's own or inherited plan, or the defaults)."""
    require_permission(actor, PlatformPermission.MANAGE_FINANCE, FinanceErrorCode.PERMISSION_DENIED)
    if all(v is None for v in (annual_fee, commission_rate, deposit_amount, rebate_rules)):
        raise DomainError(FinanceErrorCode.REQUIRED, "Change at least one term.", field="input")
    now = timezone.now()
    starts = _effective_from(effective_from, now)
    base = fee_terms_for(category, starts)
    with transaction.atomic():
        plan = FeePlan.objects.create(
            category=category,
            effective_from=starts,
            currency=settings.DEFAULT_CURRENCY,
            annual_fee=_clean_amount(annual_fee, "annualFee") if annual_fee is not None else base.annual_fee.amount,
            commission_rate=clean_rate(commission_rate) if commission_rate is not None else base.commission_rate,
            deposit_amount=(
                _clean_amount(deposit_amount, "depositAmount") if deposit_amount is not None else base.deposit.amount
            ),
            rebate_rules=clean_rebate_rules(rebate_rules) if rebate_rules is not None else base.rebate_rules,
            created_by=actor,
        )
        audit_log(
            actor=actor,
            action="fee_plan.update",
            target=category,
            plan=plan.pk,
            effective_from=starts.isoformat(),
            annual_fee=str(plan.annual_fee),
            commission_rate=str(plan.commission_rate),
            deposit_amount=str(plan.deposit_amount),
            rebate_rules=plan.rebate_rules,
        )
    return plan


def vendor_commission_override(
    *, actor, vendor: Vendor, category: Category | None, rate, effective_from: datetime | None = None
) -> VendorCommissionOverride:
    """The vendor's own rate in a category (all categories when None) from effective_from on;
    rate None ends the override (the plan applies again)."""
    require_permission(actor, PlatformPermission.MANAGE_FINANCE, FinanceErrorCode.PERMISSION_DENIED)
    starts = _effective_from(effective_from, timezone.now())
    rate = clean_rate(rate, "rate") if rate is not None else None
    with transaction.atomic():
        override = VendorCommissionOverride.objects.create(
            vendor=vendor, category=category, rate=rate, effective_from=starts, created_by=actor
        )
        audit_log(
            actor=actor,
            action="vendor.commission_override",
            target=vendor,
            category=getattr(category, "pk", None),
            rate=None if rate is None else str(rate),
            effective_from=starts.isoformat(),
        )
    return override
