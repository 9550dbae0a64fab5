"""Admin display helpers: money in its currency's precision, dashes for nothing, read-only pages."""

from decimal import Decimal

import pytest
from django.contrib import admin

from backend.accounts.models import Address
from backend.core.admin import EMPTY, money_column, money_text
from backend.orders.models import Order
from backend.payments.models import Payment

from .admin_pages import LONG_MONEY, page_problems


@pytest.mark.parametrize(
    "amount, currency, shown",
    [
        (Decimal("55.8000"), "CNY", "55.80 CNY"),
        (Decimal("1234567.5"), "CNY", "1,234,567.50 CNY"),
        (Decimal("0.005"), "CNY", "0.01 CNY"),  # half up, like the ledger
        (Decimal("1200.0000"), "JPY", "1,200 JPY"),
        (None, "CNY", EMPTY),
    ],
)
def test_money_text_uses_the_currencys_minor_units(amount, currency, shown):
    assert money_text(amount, currency) == shown


def test_money_column_reads_the_amount_and_its_currency_field():
    class Row:
        total_amount = Decimal("7.9000")
        currency = "CNY"

    column = money_column("total_amount", description="total")
    assert column(Row()) == "7.90 CNY"
    assert column.short_description == "total" and column.admin_order_field == "total_amount"


def test_orders_and_payments_have_no_add_or_change_form(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    for model in (Order, Payment):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)


def test_labels_and_the_page_checker():
    assert Address._meta.verbose_name_plural == "addresses"
    assert LONG_MONEY.search("total 55.8000 CNY") and LONG_MONEY.search("CN¥ 1.2500")
    assert not LONG_MONEY.search("55.80 CNY") and not LONG_MONEY.search("CNY | 0.0500")
    assert page_problems("p", 200, "<td>released None</td>") == ["p: shows None: ...'| released None |'"]
    assert page_problems("p", 404, "") == ["p: HTTP 404"]
