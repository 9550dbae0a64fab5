from types import SimpleNamespace

import graphene
from django.db.models import Q
from graphene_django.fields import DjangoConnectionField

from backend.catalog.models import Category
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission
from backend.finance import fees, points_report, revenue, selectors, statements
from backend.finance.models import FeePlan

from ..catalog.types import CategoryType
from ..core.lookups import filter_key
from ..core.nodes import decode_id, get_node
from .types import (
    CommissionOverrideType,
    FeePlanType,
    FeeTermsType,
    LedgerEntryType,
    PayoutStatusEnum,
    PayoutTriggerEnum,
    PayoutType,
    PlatformRevenueRowType,
    PointsReportRowType,
    StatementType,
    VendorBalance,
    resolve_vendor_balance,
    vendor_ledger_queryset,
)


def _vendor(global_id: str) -> int | None:
    """The vendor id inside a Vendor global ID; whether it exists shows in what the caller may see."""
    try:
        return int(decode_id(global_id, "Vendor", field="vendor"))
    except (DomainError, ValueError):
        return None


class PayoutFilterInput(graphene.InputObjectType):
    vendor = graphene.ID()
    status = PayoutStatusEnum()
    trigger = PayoutTriggerEnum()


class FinanceQueries(graphene.ObjectType):
    vendor_balance = graphene.Field(
        VendorBalance,
        vendor=graphene.ID(required=True),
        description="A vendor's pending, available and deposit balances (its staff, or MANAGE_FINANCE).",
    )
    vendor_ledger = DjangoConnectionField(
        LedgerEntryType,
        vendor=graphene.ID(required=True),
        description="Entries on a vendor's ledger accounts, newest first (its staff, or MANAGE_FINANCE).",
    )
    vendor_statement = graphene.Field(
        StatementType,
        vendor=graphene.ID(required=True),
        date_from=graphene.Date(required=True, name="from"),
        date_to=graphene.Date(required=True, name="to"),
        description="A vendor's statement for any date range, both days included (its staff, or MANAGE_FINANCE).",
    )
    category_fee_terms = graphene.Field(
        FeeTermsType,
        category=graphene.ID(required=True),
        at=graphene.DateTime(description="Now when not given."),
        description="The fee terms in force for a category (its own plan, inherited, or the defaults). Signed-in users.",
    )
    category_fee_plans = graphene.List(
        graphene.NonNull(FeePlanType),
        category=graphene.ID(required=True),
        description="Every plan the category ever had or will have, newest first. Signed-in users.",
    )
    vendor_commission_overrides = graphene.List(
        graphene.NonNull(CommissionOverrideType),
        vendor=graphene.ID(required=True),
        description="A vendor's commission overrides, newest first (its staff, or MANAGE_FINANCE).",
    )
    payout = graphene.Field(PayoutType, id=graphene.ID(required=True))
    payouts = DjangoConnectionField(
        PayoutType, filter=PayoutFilterInput(), description="Payouts, newest first: finance staff see all, a vendor its own."
    )
    platform_revenue = graphene.List(
        graphene.NonNull(PlatformRevenueRowType),
        date_from=graphene.Date(required=True, name="from"),
        date_to=graphene.Date(required=True, name="to"),
        description="The platform's commission and fees by month and category (MANAGE_FINANCE; null otherwise).",
    )
    points_report = graphene.List(
        graphene.NonNull(PointsReportRowType),
        date_from=graphene.Date(required=True, name="from"),
        date_to=graphene.Date(required=True, name="to"),
        description="Members' points by month from the ledger: issued, taken back, redeemed, given back, expired, "
        "adjusted by staff, the liability at the start and end and the platform's points cost "
        "(MANAGE_FINANCE; null otherwise).",
    )

    @staticmethod
    def resolve_vendor_balance(_root, info, vendor):
        return resolve_vendor_balance(_vendor(vendor), info)

    @staticmethod
    def resolve_vendor_ledger(_root, info, vendor, **_kwargs):
        return vendor_ledger_queryset(_vendor(vendor), info)

    @staticmethod
    def resolve_vendor_statement(_root, info, vendor, date_from, date_to):
        vendor_id = _vendor(vendor)
        found = selectors.finance_visible_vendors(info.context.user).filter(pk=vendor_id).first() if vendor_id else None
        if found is None:
            return None
        try:
            return statements.vendor_statement(found, date_from, date_to)
        except DomainError:
            return None

    @staticmethod
    def resolve_category_fee_terms(_root, info, category, at=None):
        if not info.context.user.is_authenticated:
            return None
        try:
            found = get_node(info, category, CategoryType, field="category")
        except DomainError:
            return None
        return SimpleNamespace(category_id=found.pk, terms=fees.fee_terms_for(found, at))

    @staticmethod
    def resolve_category_fee_plans(_root, info, category):
        queryset = FeePlan.objects.filter(category_id=filter_key(category, "Category")).select_related("category")
        return FeePlanType.get_queryset(queryset.order_by("-effective_from", "-id"), info)

    @staticmethod
    def resolve_vendor_commission_overrides(_root, info, vendor):
        queryset = CommissionOverrideType.get_queryset(
            CommissionOverrideType._meta.model.objects.filter(vendor_id=_vendor(vendor)), info
        )
        return queryset.select_related("category").order_by("-effective_from", "-id")

    @staticmethod
    def resolve_payout(_root, info, id):
        try:
            return get_node(info, id, PayoutType)
        except DomainError:
            return None

    @staticmethod
    def resolve_payouts(_root, info, filter=None, **_kwargs):
        queryset = selectors.visible_payouts(info.context.user).select_related("transfer", "vendor")
        filter = filter or {}
        if filter.get("vendor"):
            queryset = queryset.filter(vendor_id=_vendor(filter["vendor"]))
        if filter.get("status") is not None:
            status = filter["status"].value
            pending = Q(transfer__isnull=True) if status == "pending" else Q(pk__in=[])
            queryset = queryset.filter(pending | Q(transfer__status=status))
        if filter.get("trigger") is not None:
            queryset = queryset.filter(trigger=filter["trigger"].value)
        return queryset.order_by("-created_at", "-id")

    @staticmethod
    def resolve_platform_revenue(_root, info, date_from, date_to):
        if not has_permission(info.context.user, PlatformPermission.MANAGE_FINANCE):
            return None
        try:
            rows = revenue.platform_revenue(date_from, date_to)
        except DomainError:
            return None
        categories = Category.objects.in_bulk([r.category_id for r in rows if r.category_id is not None])
        return [
            SimpleNamespace(
                month=r.month,
                category=categories.get(r.category_id),
                commission=r.commission,
                fees=r.fees,
                total=r.total,
            )
            for r in rows
        ]

    @staticmethod
    def resolve_points_report(_root, info, date_from, date_to):
        if not has_permission(info.context.user, PlatformPermission.MANAGE_FINANCE):
            return None
        try:
            return points_report.points_report(date_from, date_to)
        except DomainError:
            return None
