import graphene
from graphene_django import DjangoObjectType
from moneyed import Money as MoneyValue

from backend.core.money import from_minor
from backend.finance import ledger, selectors
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.models import AccountKind, LedgerEntry, LedgerTransaction, TransactionKind

from ..core.types import CountableConnection, Money, error_type

FinanceError = error_type("FinanceError", FinanceErrorCode)

LedgerTransactionKindEnum = graphene.Enum(
    "LedgerTransactionKind", [(value.upper(), value) for value in TransactionKind.values]
)
LedgerAccountKindEnum = graphene.Enum("LedgerAccountKind", [(value.upper(), value) for value in AccountKind.values])


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
