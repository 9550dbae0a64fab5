"""Builders for the promotions tests: vouchers through the services, orders shipped and released."""

from __future__ import annotations

from decimal import Decimal

from backend.core.money import Money
from backend.core.permissions import PlatformPermission
from backend.orders import services as orders_services
from backend.promotions import services
from backend.promotions.services import VoucherInput

from ..checkout.helpers import TABLE_RATE
from ..conftest import make_user


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def finance_staff():
    return make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])


def platform_voucher(staff=None, **fields):
    """A platform voucher (100% platform-funded unless platform_share_percent says otherwise)."""
    fields.setdefault("name", "Platform 30 off 300")
    fields.setdefault("kind", "amount_off")
    return services.voucher_create(actor=staff or finance_staff(), data=VoucherInput(**fields))


def store_voucher(owner, **fields):
    fields.setdefault("name", "Store 10 off")
    fields.setdefault("kind", "amount_off")
    return services.voucher_create(actor=owner, data=VoucherInput(**fields))


def release(order, owner, shopper):
    """Ship, then the shopper confirms receipt: the order's money is released."""
    orders_services.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    order.refresh_from_db()
    return orders_services.order_confirm_receipt(actor=shopper, order=order)
