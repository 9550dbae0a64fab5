"""Which vendors may list products and which are shown to shoppers: decided here only.

The fees issue will narrow both to active vendors once entry fees and deposits
are collected; until then onboarding vendors list and sell too.
"""

from __future__ import annotations

from backend.vendors.models import VendorStatus

LISTING_VENDOR_STATUSES = (VendorStatus.ACTIVE, VendorStatus.ONBOARDING)
SELLABLE_VENDOR_STATUSES = (VendorStatus.ACTIVE, VendorStatus.ONBOARDING)


def vendor_can_list(vendor) -> bool:
    """May this vendor submit listings for review?"""
    return vendor is not None and vendor.status in LISTING_VENDOR_STATUSES


def vendor_is_sellable(vendor) -> bool:
    """Are this vendor's published listings on the storefront?"""
    return vendor is not None and vendor.status in SELLABLE_VENDOR_STATUSES
