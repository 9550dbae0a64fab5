"""A voucher's use is given back when every order placed with it is cancelled before shipment
(unpaid, or paid and refunded in full): the shopper may use the coupon again and the total limit
counts it no more. Once one of the checkout's orders goes on, the use stays."""

import functools

import pytest
from graphql_relay import to_global_id

from backend.core.exceptions import DomainError
from backend.orders import services as orders_services
from backend.orders.models import OrderStatus
from backend.payments import services as payments
from backend.payments.models import PaymentStatus
from backend.promotions import services
from backend.promotions.models import Voucher, VoucherRedemption

from ..checkout.documents import STOREFRONT_ORDER_CANCEL
from ..checkout.helpers import GUANGZHOU, HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user
from .helpers import platform_voucher, store_voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": make_user(),
        "green": listing(tea, price="100.00"), "scarf": listing(silk, price="200.00"),
        "platform": platform_voucher(code="FEST30", value="30", min_spend="250", usage_limit=1, per_shopper_limit=1),
    }


def _buy(w, *, lines=None):
    checkout = ready_checkout(w["shopper"], lines or [(w["green"], 1), (w["scarf"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FEST30")
    return checkout, complete(checkout, user=w["shopper"])


def _uses(voucher) -> tuple[int, int]:
    voucher.refresh_from_db()
    return voucher.used_count, VoucherRedemption.objects.filter(voucher=voucher, released_at__isnull=True).count()


def _refused_again(w) -> str:
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    with pytest.raises(DomainError) as exc:
        services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FEST30")
    return exc.value.code.name


def test_unpaid_orders_cancelled_give_the_voucher_back(world, monkeypatch, storefront_api):
    """An authorized payment leaves the orders unpaid; the shopper cancels both through the
    storefront: the use is given back once, when the second goes."""
    monkeypatch.setattr(payments, "payment_process", functools.partial(payments.payment_process, capture=False))
    w = world
    _checkout, result = _buy(w)
    assert result.payment.status == PaymentStatus.AUTHORIZED
    assert {o.status for o in result.orders} == {OrderStatus.UNPAID}
    assert _uses(w["platform"]) == (1, 1)
    assert _refused_again(w) == "VOUCHER_LIMIT_REACHED"

    storefront_api.login(w["shopper"])
    first, second = sorted(result.orders, key=lambda o: o.pk)
    payload = storefront_api.mutate(STOREFRONT_ORDER_CANCEL, {"id": to_global_id("Order", first.pk), "reason": "No"})
    assert payload["errors"] == []
    assert _uses(w["platform"]) == (1, 1)  # the other order still stands on the discount
    payload = storefront_api.mutate(STOREFRONT_ORDER_CANCEL, {"id": to_global_id("Order", second.pk), "reason": "No"})
    assert payload["errors"] == []
    assert _uses(w["platform"]) == (0, 0)
    assert VoucherRedemption.objects.get(voucher=w["platform"]).released_at is not None
    # Usable again, by the same shopper, up to its limits.
    _checkout2, again = _buy(w)
    assert again.orders and _uses(w["platform"]) == (1, 1)


def test_paid_orders_cancelled_before_shipment_give_the_voucher_back_once(world):
    w = world
    _checkout, result = _buy(w)
    tea_order, silk_order = sorted(result.orders, key=lambda o: o.vendor_id)
    orders_services.order_cancel(actor=w["tea_owner"], order=tea_order, reason="Out of stock")
    assert _uses(w["platform"]) == (1, 1)
    orders_services.order_cancel(actor=w["shopper"], order=silk_order, reason="Changed my mind")
    assert _uses(w["platform"]) == (0, 0)
    # Giving back again (another cancellation path running it twice) changes nothing.
    assert services.give_back_on_cancel(silk_order) == []
    assert _uses(w["platform"]) == (0, 0)


def test_a_use_stays_when_one_of_the_orders_goes_on(world):
    w = world
    store_voucher(w["tea_owner"], code="TEA10", value="10", min_spend="100", usage_limit=5)
    tea10 = Voucher.objects.get(code="TEA10")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA10")
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FEST30")
    result = complete(checkout, user=w["shopper"])
    tea_order, silk_order = sorted(result.orders, key=lambda o: o.vendor_id)
    orders_services.order_cancel(actor=w["shopper"], order=tea_order, reason="Changed my mind")
    orders_services.order_ship(actor=w["silk_owner"], order=silk_order, carrier=TABLE_RATE)
    assert _uses(w["platform"]) == (1, 1) and _uses(tea10) == (1, 1)
    assert _refused_again(w) == "VOUCHER_LIMIT_REACHED"


@pytest.mark.parametrize("batch_size", [1, 100])
def test_unpaid_orders_expired_in_batches_give_the_voucher_back_once(world, monkeypatch, batch_size):
    """The periodic expiry cancels a voucher checkout's orders in one batch or in two: the use is
    given back once; an expired checkout without a voucher beside it changes nothing."""
    from datetime import timedelta

    monkeypatch.setattr(payments, "payment_process", functools.partial(payments.payment_process, capture=False))
    w = world
    _checkout, result = _buy(w)
    plain = complete(ready_checkout(make_user(), [(w["green"], 1)]))
    assert _uses(w["platform"]) == (1, 1)
    later = max(o.reserved_until for o in [*result.orders, *plain.orders]) + timedelta(seconds=1)
    assert orders_services.orders_expire_unpaid(now=later, batch_size=batch_size) == 3
    assert orders_services.orders_expire_unpaid(now=later, batch_size=batch_size) == 0
    assert _uses(w["platform"]) == (0, 0)
    assert VoucherRedemption.objects.get(voucher=w["platform"]).released_at is not None
