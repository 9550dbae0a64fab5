"""Completion reuses the shipping quote stored on the checkout while nothing it depends on moved,
and quotes again (charging the new price) after any change of carrier data, an expiry or a
pricing-event boundary."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.checkout import services
from backend.core.exceptions import DomainError
from backend.logistics import services as logistics_services
from backend.logistics.models import PricingEvent, ShippingService, ZoneRate
from backend.logistics.versions import carrier_data_changed, carrier_data_version

from .documents import CHECKOUT_ADDRESS, CHECKOUT_COMPLETE, CHECKOUT_CREATE, CHECKOUT_SHIPPING
from .helpers import GUANGZHOU, HANGZHOU, SHANGHAI, TABLE_RATE, complete, listing, ready_checkout, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def quote_calls(monkeypatch):
    """Counts the carrier quotes the checkout asks for."""
    calls = []
    real = logistics_services.quote_package

    def counting(**kwargs):
        calls.append(kwargs["package"].vendor_id)
        return real(**kwargs)

    monkeypatch.setattr(services.logistics, "quote_package", counting)
    return calls


@pytest.fixture
def two_stores():
    tea, _ = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    return tea, silk


def economy_rates():
    return ZoneRate.objects.filter(service__carrier_id=TABLE_RATE, service__code="economy")


def test_completion_reuses_the_stored_quotes_when_nothing_changed(two_stores, quote_calls):
    tea, silk = two_stores
    checkout = ready_checkout(None, [(listing(tea), 1), (listing(silk), 2)])
    methods = {m.vendor_id: m for m in checkout.shipping_methods.all()}
    assert all(m.quote_fingerprint and m.quoted_at and m.quote_valid_until > m.quoted_at for m in methods.values())
    quote_calls.clear()
    result = complete(checkout)
    assert quote_calls == []
    assert [o.total_amount - o.subtotal_amount for o in result.orders] == [methods[tea.pk].price_amount, methods[silk.pk].price_amount]


def test_a_carrier_rate_changed_after_the_quote_is_requoted_and_the_new_price_charged(two_stores, quote_calls):
    tea, _ = two_stores
    checkout = ready_checkout(None, [(listing(tea, weight="2.000"), 1)])
    before = checkout.shipping_methods.get().price_amount
    for rate in economy_rates():  # one save per row, as the admin's inline does
        rate.first_weight_price += Decimal("5.00")
        rate.save()
    quote_calls.clear()
    with pytest.raises(DomainError) as exc_info:
        complete(checkout)
    assert exc_info.value.code.name == "PRICE_CHANGED"
    assert quote_calls == [tea.pk]
    method = checkout.shipping_methods.get()
    assert method.price_amount == before + Decimal("5.00")
    result = complete(checkout)
    order = result.orders[0]
    assert order.total_amount - order.subtotal_amount == before + Decimal("5.00")


def test_a_bulk_write_of_carrier_data_invalidates_through_the_version(two_stores, quote_calls):
    tea, _ = two_stores
    checkout = ready_checkout(None, [(listing(tea), 1)])
    before = checkout.shipping_methods.get().price_amount
    version = carrier_data_version()
    # A bulk update sends no signal; the writer says so (as campaigns' event sync does).
    economy_rates().update(first_weight_price=Decimal("99.00"))
    carrier_data_changed()
    assert carrier_data_version() == version + 1
    with pytest.raises(DomainError) as exc_info:
        complete(checkout)
    assert exc_info.value.code.name == "PRICE_CHANGED"
    price = checkout.shipping_methods.get().price_amount
    assert price > before
    order = complete(checkout).orders[0]
    assert order.total_amount - order.subtotal_amount == price


def test_every_carrier_data_model_and_plugin_setting_moves_the_version(two_stores):
    from plugins.models import PluginConfiguration

    version = carrier_data_version()
    service = ShippingService.objects.get(carrier_id=TABLE_RATE, code="economy")
    service.save()
    event = PricingEvent.objects.create(
        name="x", carrier_id=TABLE_RATE, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1),
        percent_change=Decimal("10"),
    )
    event.delete()
    PluginConfiguration.objects.create(identifier="x.y", active=True, configuration={})
    assert carrier_data_version() == version + 4


def test_a_quote_older_than_the_setting_is_requoted(two_stores, quote_calls, settings, monkeypatch):
    settings.CHECKOUT_QUOTE_MAX_AGE_SECONDS = 600
    tea, _ = two_stores
    checkout = ready_checkout(None, [(listing(tea), 1)])
    later = timezone.now() + timedelta(seconds=601)
    monkeypatch.setattr(timezone, "now", lambda: later)
    quote_calls.clear()
    complete(checkout)
    assert quote_calls == [tea.pk]


def test_a_quote_is_not_reused_across_a_pricing_event_boundary(two_stores, quote_calls, monkeypatch):
    tea, _ = two_stores
    now = timezone.now()
    starts = now + timedelta(minutes=5)
    event = PricingEvent.objects.create(
        name="Peak week", carrier_id=TABLE_RATE, starts_at=starts, ends_at=starts + timedelta(days=7),
        percent_change=Decimal("50"),
    )
    checkout = ready_checkout(None, [(listing(tea), 1)])
    method = checkout.shipping_methods.get()
    assert method.quote_valid_until == event.starts_at
    before = method.price_amount
    # Six minutes on, the event is in force: the stored quote is not reused.
    later = now + timedelta(minutes=6)
    monkeypatch.setattr(timezone, "now", lambda: later)
    quote_calls.clear()
    with pytest.raises(DomainError) as exc_info:
        complete(checkout)
    assert exc_info.value.code.name == "PRICE_CHANGED" and quote_calls == [tea.pk]
    order = complete(checkout).orders[0]
    assert order.total_amount - order.subtotal_amount == (before * Decimal("1.5")).quantize(Decimal("0.01"))


def test_through_the_api_a_rate_change_after_choosing_shipping_is_charged_at_its_new_price(storefront_api, two_stores):
    tea, _ = two_stores
    variant = listing(tea, price="30.00")
    created = storefront_api.mutate(
        CHECKOUT_CREATE,
        {"input": {"email": "g@example.com", "lines": [{"variantId": to_global_id("ProductVariant", variant.pk), "quantity": 1}]}},
    )
    checkout_id = created["checkout"]["id"]
    storefront_api.mutate(CHECKOUT_ADDRESS, {"id": checkout_id, "address": {"region": SHANGHAI, "streetAddress1": "x 1"}})
    chosen = storefront_api.mutate(
        CHECKOUT_SHIPPING,
        {"id": checkout_id, "vendor": to_global_id("Vendor", tea.pk), "carrier": TABLE_RATE, "serviceCode": "economy"},
    )
    quoted = Decimal(chosen["checkout"]["shippingPrice"]["amount"])
    for rate in economy_rates():
        rate.first_weight_price += Decimal("3.00")
        rate.save()
    payment = {"gateway": "dummy", "token": "success"}
    first = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout_id, "payment": payment})
    assert [e["code"] for e in first["errors"]] == ["PRICE_CHANGED"]
    second = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout_id, "payment": payment})
    assert second["errors"] == []
    assert Decimal(second["orders"][0]["total"]["amount"]) == Decimal("30.00") + quoted + Decimal("3.00")
