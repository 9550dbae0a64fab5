import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.exceptions import DomainError

from ..core.nodes import decode_id
from .types import LedgerEntryType, VendorBalance, resolve_vendor_balance, vendor_ledger_queryset


def _vendor(global_id: str) -> int | None:
    """The vendor id inside a Vendor global ID; whether it exists shows in what the caller may see."""
    try:
        return int(decode_id(global_id, "Vendor", field="vendor"))
    except (DomainError, ValueError):
        return None


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

    @staticmethod
    def resolve_vendor_balance(_root, info, vendor):
        return resolve_vendor_balance(_vendor(vendor), info)

    @staticmethod
    def resolve_vendor_ledger(_root, info, vendor, **_kwargs):
        return vendor_ledger_queryset(_vendor(vendor), info)
