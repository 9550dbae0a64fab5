"""Checkout services: lines re-checked at every change, packages per vendor, all-or-nothing completion."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.catalog.models import ListingStatus
from backend.checkout import services
from backend.checkout.error_codes import CheckoutErrorCode as E
from backend.checkout.models import Checkout, CheckoutPaymentAttempt
from backend.checkout.services import LineInput
from backend.core.exceptions import DomainError, DomainErrors
from backend.finance import accounts
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.orders import services as orders_services
from backend.orders.models import Order, OrderStatus
from backend.payments.models import Payment
from backend.vendors.models import VendorStatus

from ..conftest import make_user
from .helpers import (
    GUANGZHOU,
    HANGZHOU,
    TABLE_RATE,
    address,
    balance,
    complete,
    listing,
    pending,
    ready_checkout,
    store,
)

pytestmark = pytest.mark.django_db


def codes(exc_info) -> list[str]:
    exc = exc_info.value
    errors = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return [e.code.name for e in errors]


@pytest.fixture
def two_stores():
    tea, _ = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    return tea, silk


def test_lines_add_update_delete_and_packages_per_vendor(two_stores):
    tea, silk = two_stores
    green, oolong, scarf = listing(tea, price="30.00"), listing(tea, price="45.50"), listing(silk, price="199.00")
    checkout = services.checkout_create(
        user=None, email="Guest@Example.com", lines=[LineInput(green.pk, 1), LineInput(green.pk, 1)]
    )
    assert checkout.email == "guest@example.com"
    services.checkout_lines_add(checkout=checkout, lines=[LineInput(oolong.pk, 2), LineInput(scarf.pk, 1)])
    summary = services.checkout_summary(checkout)
    assert [(p.vendor, [(line.variant, line.quantity) for line in p.lines]) for p in summary.packages] == [
        (tea, [(green, 2), (oolong, 2)]),
        (silk, [(scarf, 1)]),
    ]
    assert [p.subtotal.amount for p in summary.packages] == [Decimal("151.00"), Decimal("199.00")]
    assert summary.total.amount == Decimal("350.00")
    assert {p.code for p in summary.problems} == {E.SHIPPING_ADDRESS_REQUIRED, E.SHIPPING_METHOD_REQUIRED}

    services.checkout_lines_update(checkout=checkout, lines=[LineInput(green.pk, 5), LineInput(scarf.pk, 0)])
    summary = services.checkout_summary(checkout)
    assert [(line.variant, line.quantity) for line in summary.lines] == [(green, 5), (oolong, 2)]
    line = summary.lines[1]
    services.checkout_lines_delete(checkout=checkout, line_ids=[line.pk])
    assert [line.variant for line in services.checkout_lines(checkout)] == [green]
    # A checkout holds no stock.
    green.refresh_from_db()
    assert green.stock == 10


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda v: setattr(v.product, "status", ListingStatus.DELISTED) or v.product.save(), "PRODUCT_UNAVAILABLE"),
        (lambda v: setattr(v.product.vendor, "status", VendorStatus.SUSPENDED) or v.product.vendor.save(), "PRODUCT_UNAVAILABLE"),
        (lambda v: setattr(v, "stock", 1) or v.save(), "INSUFFICIENT_STOCK"),
    ],
    ids=["delisted", "vendor-suspended", "stock"],
)
def test_adding_what_cannot_be_bought_is_refused(two_stores, change, code):
    variant = listing(two_stores[0])
    change(variant)
    with pytest.raises(DomainError) as exc_info:
        services.checkout_create(user=None, email="a@example.com", lines=[LineInput(variant.pk, 2)])
    assert codes(exc_info) == [code]


def test_quantity_beyond_stock_when_adding_to_an_existing_line(two_stores):
    variant = listing(two_stores[0], stock=3)
    checkout = services.checkout_create(user=None, email="a@example.com", lines=[LineInput(variant.pk, 2)])
    with pytest.raises(DomainError) as exc_info:
        services.checkout_lines_add(checkout=checkout, lines=[LineInput(variant.pk, 2)])
    assert codes(exc_info) == ["INSUFFICIENT_STOCK"]


def test_shipping_method_needs_an_address_and_a_quote(two_stores):
    tea, _ = two_stores
    variant = listing(tea)
    checkout = services.checkout_create(user=None, email="a@example.com", lines=[LineInput(variant.pk, 1)])
    with pytest.raises(DomainError) as exc_info:
        services.checkout_shipping_method_update(checkout=checkout, vendor_id=tea.pk, carrier=TABLE_RATE)
    assert codes(exc_info) == ["SHIPPING_ADDRESS_REQUIRED"]
    services.checkout_shipping_address_update(checkout=checkout, address=address())
    summary = services.checkout_summary(checkout)
    quotes = services.package_quotes(checkout, summary.packages[0])
    assert {q.service_code for q in quotes} >= {"economy", "express"}
    # Without a service code the carrier's cheapest is taken.
    services.checkout_shipping_method_update(checkout=checkout, vendor_id=tea.pk, carrier=TABLE_RATE)
    method = checkout.shipping_methods.get()
    assert method.price_amount == min(q.price.amount for q in quotes)
    with pytest.raises(DomainError) as exc_info:
        services.checkout_shipping_method_update(
            checkout=checkout, vendor_id=tea.pk, carrier=TABLE_RATE, service_code="teleport"
        )
    assert codes(exc_info) == ["SHIPPING_METHOD_NOT_AVAILABLE"]
    with pytest.raises(DomainError) as exc_info:
        services.checkout_shipping_address_update(checkout=checkout, address=address("999999"))
    assert codes(exc_info) == ["UNKNOWN_REGION"]


def test_a_heavier_package_is_requoted_when_lines_change(two_stores):
    tea, _ = two_stores
    variant = listing(tea, weight="1.000")
    checkout = ready_checkout(None, [(variant, 1)])
    before = checkout.shipping_methods.get().price_amount
    services.checkout_lines_update(checkout=checkout, lines=[LineInput(variant.pk, 6)])
    assert checkout.shipping_methods.get().price_amount > before


def test_complete_places_one_order_per_vendor_and_holds_one_payment_in_escrow(two_stores):
    tea, silk = two_stores
    shopper = make_user()
    green, scarf = listing(tea, price="30.00", stock=5), listing(silk, price="199.00", stock=2)
    checkout = ready_checkout(shopper, [(green, 2), (scarf, 1)])
    summary = services.checkout_summary(checkout)
    result = complete(checkout, user=shopper)

    assert [o.vendor for o in result.orders] == [tea, silk]
    assert all(o.status == OrderStatus.PAID and o.user == shopper and o.payment == result.payment for o in result.orders)
    tea_order, silk_order = result.orders
    assert tea_order.subtotal_amount == Decimal("60.00")
    assert tea_order.total_amount == tea_order.subtotal_amount + summary.packages[0].shipping_price.amount
    assert [(line.product_name, line.variant_sku, line.quantity, line.commission_rate) for line in tea_order.lines.all()] == [
        (green.product.name, green.sku, 2, Decimal("0.0500"))
    ]
    assert result.payment.captured_amount == summary.total.amount == tea_order.total_amount + silk_order.total_amount
    green.refresh_from_db(), scarf.refresh_from_db()
    assert (green.stock, scarf.stock) == (3, 1)
    green.product.refresh_from_db()
    assert green.product.sales_count == 0  # counted when the order completes
    assert pending(tea) == tea_order.total_amount and pending(silk) == silk_order.total_amount
    assert balance(accounts.GATEWAY) == -summary.total.amount
    assert ledger_problems() == []
    checkout.refresh_from_db()
    assert checkout.completed_at is not None and checkout.payment == result.payment


def test_completing_twice_returns_the_same_orders_and_payment(two_stores):
    variant = listing(two_stores[0])
    checkout = ready_checkout(None, [(variant, 1)])
    first = complete(checkout)
    again = complete(Checkout.objects.get(pk=checkout.pk))
    assert [o.pk for o in again.orders] == [o.pk for o in first.orders]
    assert again.payment.pk == first.payment.pk
    assert Payment.objects.count() == 1 and Order.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_HOLD).count() == 1
    variant.refresh_from_db()
    assert variant.stock == 9
    with pytest.raises(DomainError) as exc_info:
        services.checkout_lines_add(checkout=checkout, lines=[LineInput(variant.pk, 1)])
    assert codes(exc_info) == ["ALREADY_COMPLETED"]


def test_declined_payment_leaves_nothing_and_the_next_card_is_a_new_payment(two_stores):
    tea, silk = two_stores
    a, b = listing(tea, stock=4), listing(silk, stock=4)
    checkout = ready_checkout(None, [(a, 2), (b, 1)])
    with pytest.raises(DomainError) as exc_info:
        complete(checkout, token="decline")
    assert codes(exc_info) == ["PAYMENT_DECLINED"]
    assert not Order.objects.exists() and not Payment.objects.exists() and not LedgerTransaction.objects.exists()
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.stock, b.stock) == (4, 4)
    checkout.refresh_from_db()
    assert checkout.completed_at is None
    attempt = CheckoutPaymentAttempt.objects.get()
    assert (attempt.error_code, attempt.retry_same_key) == ("payment_declined", False)

    result = complete(checkout)
    assert result.payment.idempotency_key != attempt.idempotency_key
    assert len(result.orders) == 2


def test_timed_out_payment_rolls_back_and_a_retry_asks_about_the_same_payment(two_stores):
    variant = listing(two_stores[0], stock=4)
    checkout = ready_checkout(None, [(variant, 1)])
    with pytest.raises(DomainError) as exc_info:
        complete(checkout, token="timeout")
    assert codes(exc_info) == ["PAYMENT_TIMEOUT"]
    assert not Order.objects.exists() and not Payment.objects.exists()
    attempt = CheckoutPaymentAttempt.objects.get()
    assert attempt.retry_same_key
    result = complete(checkout)
    assert result.payment.idempotency_key == attempt.idempotency_key


def test_completion_rechecks_listing_stock_and_shipping(two_stores):
    tea, silk = two_stores
    a, b = listing(tea, stock=4), listing(silk, stock=4)
    checkout = ready_checkout(None, [(a, 2), (b, 2)])
    a.stock = 1
    a.save()
    b.product.status = ListingStatus.DELISTED
    b.product.save()
    with pytest.raises(DomainErrors) as exc_info:
        complete(checkout)
    assert sorted(codes(exc_info)) == ["INSUFFICIENT_STOCK", "PRODUCT_UNAVAILABLE"]
    assert not Order.objects.exists() and not CheckoutPaymentAttempt.objects.exists()
    summary = services.checkout_summary(checkout)
    assert sorted(p.code.name for p in summary.problems) == ["INSUFFICIENT_STOCK", "PRODUCT_UNAVAILABLE"]


def test_missing_shipping_choice_address_or_email(two_stores):
    variant = listing(two_stores[0])
    checkout = services.checkout_create(user=None, email="", lines=[LineInput(variant.pk, 1)])
    with pytest.raises(DomainError) as exc_info:
        complete(checkout)
    assert codes(exc_info) == ["EMAIL_REQUIRED"]
    services.checkout_email_update(checkout=checkout, email="guest@example.com")
    with pytest.raises(DomainError) as exc_info:
        complete(checkout)
    assert codes(exc_info) == ["SHIPPING_ADDRESS_REQUIRED"]
    services.checkout_shipping_address_update(checkout=checkout, address=address())
    with pytest.raises(DomainErrors) as exc_info:
        complete(checkout)
    assert codes(exc_info) == ["SHIPPING_METHOD_REQUIRED"]
    empty = services.checkout_create(user=None, email="a@example.com", lines=[])
    with pytest.raises(DomainError) as exc_info:
        complete(empty)
    assert codes(exc_info) == ["EMPTY_CHECKOUT"]


def test_a_price_change_is_shown_before_anything_is_charged(two_stores):
    variant = listing(two_stores[0], price="50.00")
    checkout = ready_checkout(None, [(variant, 2)])
    variant.price_amount = Decimal("55.00")
    variant.save()
    with pytest.raises(DomainError) as exc_info:
        complete(checkout)
    assert codes(exc_info) == ["PRICE_CHANGED"]
    assert not Payment.objects.exists()
    assert services.checkout_summary(checkout).subtotal.amount == Decimal("110.00")
    result = complete(checkout)
    assert result.orders[0].subtotal_amount == Decimal("110.00")


def test_a_payment_not_captured_at_once_reserves_stock_until_it_expires(two_stores, settings):
    from ..payments.gateways import PATH, ScriptedGateway

    settings.PLUGINS = [*settings.PLUGINS, PATH]
    ScriptedGateway.reset("pending")
    variant = listing(two_stores[0], stock=3)
    checkout = ready_checkout(None, [(variant, 2)])
    result = complete(checkout, gateway="scripted", token="tok")
    order = result.orders[0]
    assert order.status == OrderStatus.UNPAID and order.reserved_until is not None
    variant.refresh_from_db()
    assert variant.stock == 1
    assert not LedgerTransaction.objects.exists()

    assert orders_services.orders_expire_unpaid(now=timezone.now()) == 0  # not yet
    later = order.reserved_until + timedelta(seconds=1)
    assert orders_services.orders_expire_unpaid(now=later) == 1
    assert orders_services.orders_expire_unpaid(now=later) == 0
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and variant.stock == 3


@pytest.mark.parametrize("event, status, stock", [("payment_captured", "paid", 2), ("payment_failed", "cancelled", 3)])
def test_the_gateways_webhook_settles_a_payment_left_pending(two_stores, settings, event, status, stock):
    import json

    from django.test import Client

    from ..payments.gateways import PATH, ScriptedGateway

    settings.PLUGINS = [*settings.PLUGINS, PATH]
    ScriptedGateway.reset("pending")
    variant = listing(two_stores[0], stock=3)
    result = complete(ready_checkout(None, [(variant, 1)]), gateway="scripted", token="tok")
    payment = result.payment
    body = {"id": "evt-1", "type": event, "psp_reference": payment.psp_reference}
    response = Client().post("/webhooks/payments/scripted/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    order = Order.objects.get()
    variant.refresh_from_db()
    assert (order.status, variant.stock) == (status, stock)
    assert pending(two_stores[0]) == (payment.amount if status == "paid" else 0)
    assert ledger_problems() == []
