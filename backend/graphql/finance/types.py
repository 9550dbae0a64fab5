import graphene
from django.urls import reverse
from graphene_django import DjangoObjectType
from graphql_relay import to_global_id
from moneyed import Money as MoneyValue

from backend.core.money import from_minor
from backend.finance import ledger, selectors
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.models import (
    AccountKind,
    FeePlan,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutTrigger,
    RestrictionStatus,
    TransactionKind,
    VendorCommissionOverride,
)
from backend.finance.statements import LINE_KINDS, statement_link_token
from backend.payments.models import TransferStatus

from ..catalog.types import CategoryType
from ..core.types import CountableConnection, Money, choices_enum, error_type

FinanceError = error_type("FinanceError", FinanceErrorCode)

LedgerTransactionKindEnum = choices_enum("LedgerTransactionKind", TransactionKind)
LedgerAccountKindEnum = choices_enum("LedgerAccountKind", AccountKind)


class VendorBalance(graphene.ObjectType):
    pending = graphene.Field(Money, required=True, description="Held in escrow for orders not yet released.")
    available = graphene.Field(
        Money, required=True, description="Released to the vendor and not paid out; negative while a refund is recovered."
    )
    deposit = graphene.Field(Money, required=True, description="Security deposit held by the platform.")
    deposit_required = graphene.Field(Money, required=True, description="Deposit the vendor must keep.")

    class Meta:
        description = "A vendor's money, derived from the ledger."


class LedgerTransactionType(DjangoObjectType):
    kind = LedgerTransactionKindEnum(required=True)

    class Meta:
        model = LedgerTransaction
        name = "LedgerTransaction"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "description", "reference_type", "reference_id", "created_at")
        description = "One balanced movement of money; never changed once posted."

    @staticmethod
    def resolve_kind(root, _info):
        return TransactionKind(root.kind).value

    @classmethod
    def get_queryset(cls, queryset, info):
        entries = selectors.visible_ledger_entries(info.context.user)
        if selectors.can_see_all_finance(info.context.user):
            return queryset
        return queryset.filter(pk__in=entries.values("transaction_id"))


class LedgerEntryType(DjangoObjectType):
    account = graphene.String(required=True, description="Account code, e.g. vendor:12:available.")
    account_kind = LedgerAccountKindEnum(required=True)
    amount = graphene.Field(Money, required=True, description="Positive adds to the account, negative takes from it.")
    transaction = graphene.Field(LedgerTransactionType, required=True)
    created_at = graphene.DateTime(required=True)

    class Meta:
        model = LedgerEntry
        name = "LedgerEntry"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id",)
        description = "One line of a ledger transaction on one account."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_ledger_entries(info.context.user, queryset).select_related("account", "transaction")

    @staticmethod
    def resolve_account(root: LedgerEntry, _info):
        return root.account.code

    @staticmethod
    def resolve_account_kind(root: LedgerEntry, _info):
        return root.account.kind

    @staticmethod
    def resolve_amount(root: LedgerEntry, _info):
        return MoneyValue(from_minor(root.amount, root.currency), root.currency)

    @staticmethod
    def resolve_transaction(root: LedgerEntry, _info):
        return root.transaction

    @staticmethod
    def resolve_created_at(root: LedgerEntry, _info):
        return root.transaction.created_at


def resolve_vendor_balance(vendor, info):
    """Balance of a vendor (a Vendor or its id) whose money the caller may see, else null.

    Also the resolver for a `Vendor.balance` field."""
    vendor_id = getattr(vendor, "pk", vendor)
    if vendor_id is None or not selectors.can_see_vendor_finance(info.context.user, vendor_id):
        return None
    return ledger.vendor_balance(vendor_id)


def vendor_ledger_queryset(vendor, info):
    """Entries on the vendor's accounts, newest first; none if the caller may not see them.

    Also the resolver for a `Vendor.ledger` connection field."""
    vendor_id = getattr(vendor, "pk", vendor)
    if vendor_id is None:
        return LedgerEntry.objects.none()
    return selectors.vendor_ledger_entries(info.context.user, vendor_id)


def vendor_balance_for(vendor, info):
    """Vendor.balance: read from the page's batch when the list loaded one (attach_vendor_balances)."""
    vendor_id = getattr(vendor, "pk", vendor)
    if vendor_id is None or not selectors.can_see_vendor_finance(info.context.user, vendor_id):
        return None
    batch = getattr(vendor, "_finance_balance", None)
    return batch if batch is not None else ledger.vendor_balance(vendor_id)


def attach_vendor_balances(vendors, info) -> None:
    """Balances of a page of vendors in a fixed number of queries, for those the caller may see."""
    visible = [v for v in vendors if selectors.can_see_vendor_finance(info.context.user, v.pk)]
    if not visible:
        return
    balances = ledger.vendor_balances([v.pk for v in visible])
    for vendor in visible:
        vendor._finance_balance = balances[vendor.pk]


# --- Fee plans and overrides ----------------------------------------------------------------


class FeeRebateRule(graphene.ObjectType):
    threshold = graphene.Field(Money, required=True, description="Sales in the fee year that earn this rebate.")
    fraction = graphene.Decimal(required=True, description="Part of the annual fee paid back (0.5 = half).")

    @staticmethod
    def resolve_threshold(root, _info):
        return MoneyValue(root["threshold"], root["currency"])

    @staticmethod
    def resolve_fraction(root, _info):
        return root["fraction"]


def _rules(rules, currency):
    return [{"threshold": r["threshold"], "fraction": r["fraction"], "currency": currency} for r in rules or []]


class FeePlanType(DjangoObjectType):
    category = graphene.Field(CategoryType, required=True)
    annual_fee = graphene.Field(Money, required=True)
    commission_rate = graphene.Decimal(required=True, description="0.0500 = 5% of each order line.")
    deposit_amount = graphene.Field(Money, required=True)
    fee_rebate_rules = graphene.List(graphene.NonNull(FeeRebateRule), required=True)

    class Meta:
        model = FeePlan
        name = "FeePlan"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "effective_from", "created_at")
        description = "A category's fees from effective_from on; a change is a new plan, the past is never rewritten."

    @classmethod
    def get_queryset(cls, queryset, info):
        user = info.context.user
        return queryset if user is not None and user.is_authenticated else queryset.none()

    @staticmethod
    def resolve_category(root, _info):
        return root.category

    @staticmethod
    def resolve_annual_fee(root, _info):
        return MoneyValue(root.annual_fee, root.currency)

    @staticmethod
    def resolve_deposit_amount(root, _info):
        return MoneyValue(root.deposit_amount, root.currency)

    @staticmethod
    def resolve_fee_rebate_rules(root, _info):
        return _rules(root.rebate_rules, root.currency)


class FeeTermsType(graphene.ObjectType):
    annual_fee = graphene.Field(Money, required=True)
    commission_rate = graphene.Decimal(required=True)
    deposit_amount = graphene.Field(Money, required=True)
    fee_rebate_rules = graphene.List(graphene.NonNull(FeeRebateRule), required=True)
    plan = graphene.Field(FeePlanType, description="The plan in force; null when the platform defaults apply.")
    inherited_from = graphene.Field(
        CategoryType, description="The ancestor whose plan applies, when the category has none of its own in force."
    )

    class Meta:
        name = "FeeTerms"
        description = "What selling in a category costs at a moment."

    @staticmethod
    def resolve_annual_fee(root, _info):
        return root.terms.annual_fee

    @staticmethod
    def resolve_commission_rate(root, _info):
        return root.terms.commission_rate

    @staticmethod
    def resolve_deposit_amount(root, _info):
        return root.terms.deposit

    @staticmethod
    def resolve_fee_rebate_rules(root, _info):
        return _rules(root.terms.rebate_rules, root.terms.annual_fee.currency.code)

    @staticmethod
    def resolve_plan(root, _info):
        return root.terms.plan

    @staticmethod
    def resolve_inherited_from(root, _info):
        plan = root.terms.plan
        return plan.category if plan is not None and plan.category_id != root.category_id else None


class CommissionOverrideType(DjangoObjectType):
    category = graphene.Field(CategoryType, description="Null: every category of the vendor.")
    rate = graphene.Decimal(description="Null: the override ended, the category plan applies again.")

    class Meta:
        model = VendorCommissionOverride
        name = "CommissionOverride"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "effective_from", "created_at")
        description = "A vendor's negotiated commission rate from effective_from on."

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.filter(vendor__in=selectors.finance_visible_vendors(info.context.user))

    @staticmethod
    def resolve_category(root, _info):
        return root.category

    @staticmethod
    def resolve_rate(root, _info):
        return root.rate


# --- Standing -----------------------------------------------------------------------------

RestrictionStatusEnum = choices_enum("VendorRestrictionStatus", RestrictionStatus)


class VendorStandingType(graphene.ObjectType):
    fee_owed = graphene.Field(Money, required=True, description="Entry fee of the current fee year (or of a new one).")
    fee_paid = graphene.Field(Money, required=True)
    fee_outstanding = graphene.Field(Money, required=True)
    fee_year_start = graphene.DateTime(description="Null until the first entry fee is paid.")
    fee_year_end = graphene.DateTime()
    deposit_required = graphene.Field(Money, required=True)
    deposit = graphene.Field(Money, required=True)
    deposit_shortfall = graphene.Field(Money, required=True)
    paid_up = graphene.Boolean(required=True, description="Fee paid and deposit covered: the store may trade.")
    restriction_status = RestrictionStatusEnum(description="Set while a restriction is open or has suspended the store.")
    top_up_deadline = graphene.DateTime(description="When a restricted store is suspended unless it pays.")
    restriction_reasons = graphene.List(graphene.NonNull(graphene.String), required=True)

    class Meta:
        name = "VendorStanding"
        description = "What the vendor owes and holds, and what that means for its status."

    @staticmethod
    def resolve_fee_owed(root, _info):
        return root.fee_owed

    @staticmethod
    def resolve_fee_paid(root, _info):
        return root.fee_paid

    @staticmethod
    def resolve_fee_outstanding(root, _info):
        return root.fee_outstanding

    @staticmethod
    def resolve_fee_year_start(root, _info):
        return root.period.starts_at if root.period else None

    @staticmethod
    def resolve_fee_year_end(root, _info):
        return root.period.ends_at if root.period else None

    @staticmethod
    def resolve_deposit_required(root, _info):
        return root.deposit_required

    @staticmethod
    def resolve_deposit(root, _info):
        return root.deposit_held

    @staticmethod
    def resolve_deposit_shortfall(root, _info):
        return root.deposit_shortfall

    @staticmethod
    def resolve_paid_up(root, _info):
        return not root.unmet

    @staticmethod
    def resolve_restriction_status(root, _info):
        return root.restriction.status if root.restriction else None

    @staticmethod
    def resolve_top_up_deadline(root, _info):
        return root.restriction.deadline if root.restriction else None

    @staticmethod
    def resolve_restriction_reasons(root, _info):
        return list(root.restriction.reasons) if root.restriction else []


# --- Statements ---------------------------------------------------------------------------

StatementLineKindEnum = graphene.Enum("StatementLineKind", [(kind.upper(), kind) for kind in LINE_KINDS])


def _transaction_ids(ids):
    return [to_global_id("LedgerTransaction", pk) for pk in ids]


class StatementDiscountType(graphene.ObjectType):
    funder = graphene.Field("backend.graphql.promotions.types.DiscountFunderEnum", required=True)
    amount = graphene.Field(Money, required=True)

    class Meta:
        name = "StatementDiscount"
        description = (
            "Discounts given on a line's orders by who funded them: the store's own already lowered its sales, "
            "the platform's are paid to the store at release (the promotions line)."
        )

    @staticmethod
    def resolve_funder(root, _info):
        return root.funder


class StatementLineType(graphene.ObjectType):
    kind = StatementLineKindEnum(required=True)
    label = graphene.String(required=True)
    balance = graphene.Field(Money, required=True, description="Effect on the vendor's balance (pending + available).")
    deposit = graphene.Field(Money, required=True, description="Effect on the deposit.")
    external = graphene.Field(Money, required=True, description="Paid by the vendor through the gateway.")
    transaction_ids = graphene.List(
        graphene.NonNull(graphene.ID), required=True, description="The ledger transactions this line adds up."
    )
    discounts = graphene.List(
        graphene.NonNull(StatementDiscountType), required=True,
        description="Sales: the discounts on the orders sold, by funder (a memo: not part of the balance).",
    )

    class Meta:
        name = "StatementLine"

    @staticmethod
    def resolve_kind(root, _info):
        return root.kind

    @staticmethod
    def resolve_transaction_ids(root, _info):
        return _transaction_ids(root.transaction_ids)


class StatementItemType(graphene.ObjectType):
    transaction_id = graphene.ID(required=True)
    created_at = graphene.DateTime(required=True)
    kind = LedgerTransactionKindEnum(required=True)
    line = StatementLineKindEnum(required=True)
    description = graphene.String(required=True)
    reference = graphene.String(required=True)
    balance = graphene.Field(Money, required=True)
    deposit = graphene.Field(Money, required=True)
    external = graphene.Field(Money, required=True)

    class Meta:
        name = "StatementItem"

    @staticmethod
    def resolve_transaction_id(root, _info):
        return to_global_id("LedgerTransaction", root[1].transaction_id)

    @staticmethod
    def resolve_created_at(root, _info):
        return root[1].created_at

    @staticmethod
    def resolve_kind(root, _info):
        return root[1].kind

    @staticmethod
    def resolve_line(root, _info):
        return root[1].line

    @staticmethod
    def resolve_description(root, _info):
        return root[1].description

    @staticmethod
    def resolve_reference(root, _info):
        return root[1].reference

    @staticmethod
    def resolve_balance(root, _info):
        return root[0].money(root[1].balance)

    @staticmethod
    def resolve_deposit(root, _info):
        return root[0].money(root[1].deposit)

    @staticmethod
    def resolve_external(root, _info):
        return root[0].money(root[1].external)


class StatementType(graphene.ObjectType):
    date_from = graphene.Date(required=True, name="from")
    date_to = graphene.Date(required=True, name="to")
    opening_balance = graphene.Field(Money, required=True, description="Pending + available at the start.")
    closing_balance = graphene.Field(Money, required=True)
    opening_deposit = graphene.Field(Money, required=True)
    closing_deposit = graphene.Field(Money, required=True)
    lines = graphene.List(graphene.NonNull(StatementLineType), required=True)
    items = graphene.List(graphene.NonNull(StatementItemType), required=True, description="Every transaction, oldest first.")
    csv_url = graphene.String(required=True, description="Signed download link; it expires within minutes.")
    pdf_url = graphene.String(required=True, description="Signed download link; it expires within minutes.")

    class Meta:
        name = "Statement"
        description = "A vendor's statement for a month or any date range; opening + lines = closing, to the cent."

    @staticmethod
    def resolve_lines(root, _info):
        return root.lines

    @staticmethod
    def resolve_items(root, _info):
        return [(root, item) for item in root.items]

    @staticmethod
    def _url(root, info, fmt):
        token = statement_link_token(
            user=info.context.user, vendor_id=root.vendor_id, date_from=root.date_from, date_to=root.date_to
        )
        return info.context.build_absolute_uri(reverse("vendor-statement-download", args=[token, fmt]))

    @staticmethod
    def resolve_csv_url(root, info):
        return StatementType._url(root, info, "csv")

    @staticmethod
    def resolve_pdf_url(root, info):
        return StatementType._url(root, info, "pdf")


# --- Payouts --------------------------------------------------------------------------------

PayoutStatusEnum = choices_enum("PayoutStatus", TransferStatus)
PayoutTriggerEnum = choices_enum("PayoutTrigger", PayoutTrigger)


def _vendor_type():
    from ..vendor.types import VendorType

    return VendorType


class PayoutType(DjangoObjectType):
    vendor = graphene.Field(_vendor_type, required=True)
    amount = graphene.Field(Money, required=True)
    status = PayoutStatusEnum(required=True)
    trigger = PayoutTriggerEnum(required=True)
    psp_reference = graphene.String(description="The gateway's reference of the transfer.")
    error_message = graphene.String()

    class Meta:
        model = Payout
        name = "Payout"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "created_at")
        description = "Money paid out of a vendor's available balance through the gateway."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_payouts(info.context.user, queryset).select_related("transfer", "vendor")

    @staticmethod
    def resolve_vendor(root, _info):
        return root.vendor

    @staticmethod
    def resolve_amount(root, _info):
        return MoneyValue(root.amount, root.currency)

    @staticmethod
    def resolve_status(root, _info):
        return TransferStatus(root.status).value

    @staticmethod
    def resolve_trigger(root, _info):
        return PayoutTrigger(root.trigger).value

    @staticmethod
    def resolve_psp_reference(root, _info):
        return root.transfer.psp_reference if root.transfer_id else None

    @staticmethod
    def resolve_error_message(root, _info):
        return (root.transfer.error_message or None) if root.transfer_id else None


# --- Platform revenue ------------------------------------------------------------------------


class PlatformRevenueRowType(graphene.ObjectType):
    month = graphene.Date(required=True, description="First day of the month.")
    category = graphene.Field(CategoryType, description="Null: fees and penalties, which belong to no category.")
    commission = graphene.Field(Money, required=True)
    fees = graphene.Field(Money, required=True)
    total = graphene.Field(Money, required=True)

    class Meta:
        name = "PlatformRevenueRow"
        description = "The platform's revenue in one month and category (rows with no category: fees)."


# --- Members' points: the platform's liability and cost ---------------------------------------


class PointsMovementType(graphene.ObjectType):
    amount = graphene.Field(Money, required=True, description="Valued at the redemption rate; 0 or more.")
    points = graphene.Int(required=True)

    class Meta:
        name = "PointsMovement"
        description = "One kind of movement of members' points in a month, from the ledger."


def _movement(name):
    def resolve(root, _info):
        return {"amount": root.amount(name), "points": root.points(name)}

    return resolve


class PointsReportRowType(graphene.ObjectType):
    month = graphene.Date(required=True, description="First day of the month.")
    starts_at = graphene.DateTime(required=True, description="The row's start (the range's start in its first month).")
    ends_at = graphene.DateTime(required=True, description="The row's end, exclusive.")
    opening_liability = graphene.Field(Money, required=True, description="platform:points' balance at the start.")
    issued = graphene.Field(PointsMovementType, required=True, description="Issued at orders' release.")
    taken_back = graphene.Field(PointsMovementType, required=True, description="Taken back on refunds.")
    redeemed = graphene.Field(PointsMovementType, required=True, description="Redeemed at checkout.")
    given_back = graphene.Field(PointsMovementType, required=True, description="Redemptions given back on cancellation.")
    expired = graphene.Field(PointsMovementType, required=True)
    granted = graphene.Field(PointsMovementType, required=True, description="Granted by staff.")
    deducted = graphene.Field(PointsMovementType, required=True, description="Deducted by staff.")
    other = graphene.Field(Money, required=True, description="Signed: any other movement on the account (normally 0).")
    closing_liability = graphene.Field(
        Money, required=True,
        description="platform:points' balance at the end: opening + issued - takenBack - redeemed + givenBack - "
        "expired + granted - deducted + other.",
    )
    cost = graphene.Field(
        Money, required=True, description="The platform's points cost: minus the net change of platform:points_expense."
    )

    class Meta:
        name = "PointsReportRow"
        description = "Members' points in one month: the platform's liability and what the points cost it."

    resolve_opening_liability = staticmethod(lambda root, _info: root.opening)
    resolve_closing_liability = staticmethod(lambda root, _info: root.closing)
    resolve_issued = staticmethod(_movement("issued"))
    resolve_taken_back = staticmethod(_movement("taken_back"))
    resolve_redeemed = staticmethod(_movement("redeemed"))
    resolve_given_back = staticmethod(_movement("given_back"))
    resolve_expired = staticmethod(_movement("expired"))
    resolve_granted = staticmethod(_movement("granted"))
    resolve_deducted = staticmethod(_movement("deducted"))
