"""Fixtures of the fee, deposit, statement and payout tests: a small category tree with plans,
an onboarding merchant, finance staff, and the marketplace plugins (dummy gateway, table-rate carrier)."""

from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.finance import fees
from backend.vendors.models import VendorStatus

from ..checkout.helpers import logistics_data  # noqa: F401 - autouse fixture
from ..conftest import make_user
from ..disputes.helpers import dispute_plugins  # noqa: F401 - autouse fixture
from ..factories import CategoryFactory, vendor_with_owner
from ..graphql_client import CORE_URL, GraphQLClient


def gid(type_name: str, obj) -> str:
    return to_global_id(type_name, obj.pk)


def api_for(user) -> GraphQLClient:
    return GraphQLClient(CORE_URL).login(user)


@pytest.fixture
def finance_staff(db):
    return make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])


@pytest.fixture
def vendors_staff(db):
    return make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_VENDORS])


@pytest.fixture
def tree(db):
    """3C (parent) with Phones and Laptops below it; Food on its own."""
    digital = CategoryFactory(name="3C", slug="3c")
    return {
        "digital": digital,
        "phones": CategoryFactory(name="Phones", slug="phones", parent=digital),
        "laptops": CategoryFactory(name="Laptops", slug="laptops", parent=digital),
        "food": CategoryFactory(name="Food", slug="food"),
    }


@pytest.fixture
def plans(tree, finance_staff):
    """3C: 5%, fee 60000, deposit 50000, half back at 1.2M sales, all at 3.6M; Food: 2%, 6000, 10000."""
    fees.category_fee_plan_update(
        actor=finance_staff,
        category=tree["digital"],
        annual_fee=Decimal("60000.00"),
        commission_rate=Decimal("0.05"),
        deposit_amount=Decimal("50000.00"),
        rebate_rules=[{"threshold": "1200000.00", "fraction": "0.5"}, {"threshold": "3600000.00", "fraction": "1"}],
    )
    fees.category_fee_plan_update(
        actor=finance_staff,
        category=tree["food"],
        annual_fee=Decimal("6000.00"),
        commission_rate=Decimal("0.02"),
        deposit_amount=Decimal("10000.00"),
    )
    return tree


@pytest.fixture
def merchant(plans):
    """An onboarding store selling phones, and its owner."""
    vendor, owner = vendor_with_owner(status=VendorStatus.ONBOARDING)
    vendor.categories.set([plans["phones"]])
    return vendor, owner


@pytest.fixture
def food_merchant(plans):
    vendor, owner = vendor_with_owner(status=VendorStatus.ONBOARDING)
    vendor.categories.set([plans["food"]])
    return vendor, owner
