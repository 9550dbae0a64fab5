"""Which vendors may list products, which are shown to shoppers and which are sold: decided here only.

Only an ACTIVE vendor (entry fee and deposit paid, see backend.finance.standing)
submits listings and sells. A RESTRICTED vendor (fee or deposit fell short
while trading) sells nothing; its listings stay on the storefront, not
buyable, or are hidden, as settings.VENDOR_RESTRICTED_LISTINGS says.
"""

from __future__ import annotations

from django.conf import settings

from backend.vendors.models import VendorStatus

LISTING_VENDOR_STATUSES = (VendorStatus.ACTIVE,)
SELLABLE_VENDOR_STATUSES = (VendorStatus.ACTIVE,)


def storefront_vendor_statuses() -> tuple[str, ...]:
    """Vendors whose published listings shoppers see (not necessarily buy)."""
    if settings.VENDOR_RESTRICTED_LISTINGS == "visible":
        return (VendorStatus.ACTIVE, VendorStatus.RESTRICTED)
    return SELLABLE_VENDOR_STATUSES


def vendor_can_list(vendor) -> bool:
    """May this vendor submit listings for review?"""
    return vendor is not None and vendor.status in LISTING_VENDOR_STATUSES


def vendor_is_sellable(vendor) -> bool:
    """May shoppers buy this vendor's published listings now?"""
    return vendor is not None and vendor.status in SELLABLE_VENDOR_STATUSES


def vendor_is_shown(vendor) -> bool:
    """Are this vendor's published listings on the storefront?"""
    return vendor is not None and vendor.status in storefront_vendor_statuses()
