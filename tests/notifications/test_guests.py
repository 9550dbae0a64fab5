"""Guest orders (no account, only the order's email): every shopper-facing order event is mailed
to the order's email once, in the checkout's language, with the order's number and the guest's
handle to look it up; no inbox, no preferences; retried like any email; private to the platform."""

from __future__ import annotations

import json
import smtplib
from datetime import timedelta
from uuid import UUID

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from graphql_relay import from_global_id, to_global_id

from backend.checkout import services as checkout_services
from backend.checkout.models import Checkout
from backend.core.permissions import PlatformPermission
from backend.notifications import services
from backend.notifications.models import Delivery, DeliveryStatus, Event, Notification, WebhookSubscription
from backend.orders import services as orders
from backend.orders.models import Order

from ..checkout.documents import CHECKOUT_CREATE
from ..checkout.helpers import SHANGHAI, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..disputes.helpers import deliver
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

GUEST = "guest@example.com"

# The subject of each shopper-facing order event's mail, per language ({n}: the order's number).
SUBJECTS = {
    "en": {
        "order.paid": "Thank you for your order {n}",
        "order.shipped": "Your order {n} was shipped",
        "order.delivered": "Your order {n} was delivered",
        "order.confirmation_due": "Receipt of order {n} is confirmed automatically soon",
        "order.completed": "Order {n} completed",
    },
    "zh-hans": {
        "order.paid": "感谢您的订单 {n}",
        "order.shipped": "您的订单 {n} 已发货",
        "order.delivered": "您的订单 {n} 已送达",
        "order.confirmation_due": "订单 {n} 即将自动确认收货",
        "order.completed": "订单 {n} 已完成",
    },
}
LOOKUP = {"en": "checkout reference", "zh-hans": "结账编号"}

GUEST_ORDER = """
query($id: ID!) { checkout(id: $id) { email orders { id number status paymentStatus } } }"""
DELIVERIES = """
query { webhookDeliveries(first: 50) { totalCount edges { node { event payload } } } }"""
CORE_ORDER = """
query($id: ID!) { order(id: $id) { id email } }"""


def after_commit():
    return TestCase.captureOnCommitCallbacks(execute=True)


def guest_mails() -> list:
    return [m for m in mail.outbox if m.to == [GUEST]]


def guest_checkout_through_the_storefront(tea, accept_language: str):
    """A guest starts the checkout on the storefront in their language (Accept-Language)."""
    api = GraphQLClient(STOREFRONT_URL)
    api.client = Client(HTTP_ACCEPT_LANGUAGE=accept_language)
    created = api.mutate(CHECKOUT_CREATE, {"input": {
        "email": GUEST,
        "lines": [{"variantId": to_global_id("ProductVariant", tea.pk), "quantity": 1}],
        "shippingAddress": {"firstName": "Li", "lastName": "Lei", "phone": "13800000000", "region": SHANGHAI,
                            "streetAddress1": "1 Nanjing Road", "city": "Shanghai", "postalCode": "200000"},
    }})
    assert created["errors"] == []
    translation.deactivate()  # the request left its language active in this thread
    checkout = Checkout.objects.get(pk=UUID(from_global_id(created["checkout"]["id"])[1]))
    checkout_services.checkout_shipping_method_update(
        checkout=checkout, vendor_id=tea.vendor_id, carrier=TABLE_RATE, service_code="economy"
    )
    checkout.refresh_from_db()
    return checkout, created["checkout"]["id"]


def assert_one_guest_mail(name: str, order, language: str):
    subject = SUBJECTS[language][name].format(n=order.pk)
    sent = [m for m in mail.outbox if m.to == [GUEST] and m.subject == subject]
    assert len(sent) == 1, (name, [m.subject for m in mail.outbox])
    body = sent[0].body
    assert str(order.pk) in body and LOOKUP[language] in body
    assert to_global_id("Checkout", str(order.checkout_token)) in body
    delivery = Delivery.objects.get(event__name=name, to=GUEST)
    assert delivery.user_id is None and delivery.is_guest and delivery.language == language
    assert delivery.status == DeliveryStatus.SENT and delivery.subject == subject
    # No inbox for an address with no account: the inbox holds the users' messages only.
    users = Delivery.objects.filter(event__name=name, channel="email", user__isnull=False).count()
    assert Notification.objects.filter(event__name=name).count() == users
    return sent[0]


@pytest.mark.parametrize("accept_language, language", [("zh-Hans", "zh-hans"), ("en", "en")])
def test_a_guest_is_mailed_each_order_event_once_in_the_checkout_language(receiver, platform_hook, accept_language,
                                                                         language):
    vendor, owner = store(None)
    tea = listing(vendor, price="50.00", stock=10)
    checkout, checkout_id = guest_checkout_through_the_storefront(tea, accept_language)
    assert checkout.language_code == language
    with after_commit():
        (order,) = complete(checkout).orders
    assert order.user_id is None and order.language_code == language
    assert_one_guest_mail("order.paid", order, language)
    assert len(guest_mails()) == 1  # order.placed is the merchant's news only

    with after_commit():
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    assert_one_guest_mail("order.shipped", order, language)
    with after_commit():
        deliver(order)
        deliver(order)  # the carrier repeats itself
    assert_one_guest_mail("order.delivered", order, language)
    order.refresh_from_db()
    for hours in (23, 2):
        with after_commit():
            services.reminders_send(now=order.auto_confirm_at - timedelta(hours=hours))
    reminder = assert_one_guest_mail("order.confirmation_due", order, language)
    assert "open a dispute" not in reminder.body  # a guest cannot; the mail says what they can do
    with after_commit():
        orders.orders_auto_confirm(now=order.auto_confirm_at + timedelta(minutes=1))
        orders.orders_auto_confirm(now=order.auto_confirm_at + timedelta(minutes=2))
    assert_one_guest_mail("order.completed", order, language)
    # The same event told again (a retried task, a duplicated callback) sends nothing more.
    with after_commit():
        for name in ("order.paid", "order.shipped", "order.delivered", "order.completed"):
            services.notify(name, order=order)
    assert len(guest_mails()) == 5
    # The merchant is still told in their own language (the platform's), unchanged.
    assert Notification.objects.filter(user=owner, event__name="order.paid").get().title == f"Order {order.pk} is paid: ship it"
    assert Delivery.objects.filter(channel="email", user=owner).count() == 3  # placed, paid, completed

    # The handle in the mail finds the order on the storefront, with no account.
    found = GraphQLClient(STOREFRONT_URL).execute(GUEST_ORDER, {"id": checkout_id})["checkout"]
    assert found["orders"] == [{"id": to_global_id("Order", order.pk), "number": str(order.pk), "status": "COMPLETED",
                                "paymentStatus": "RELEASED"}]


def test_without_a_recorded_language_a_guest_gets_the_platform_default(receiver, platform_hook, settings):
    vendor, owner = store(None)
    checkout = ready_checkout(None, [(listing(vendor), 1)], email=GUEST)
    with after_commit():
        (order,) = complete(checkout).orders
        Order.objects.filter(pk=order.pk).update(language_code="")  # an order from before languages were recorded
        order.refresh_from_db()
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    assert_one_guest_mail("order.shipped", order, settings.LANGUAGE_CODE)


def test_a_users_order_is_unchanged(receiver, platform_hook):
    vendor, owner = store(None)
    shopper = make_user()
    shopper.language_code = "zh-hans"
    shopper.save()
    with translation.override("en"):  # the account's language wins over the checkout's
        checkout = ready_checkout(shopper, [(listing(vendor), 1)], email=shopper.email)
    with after_commit():
        (order,) = complete(checkout, user=shopper).orders
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    assert not Delivery.objects.filter(channel="email", user__isnull=True).exists()
    mine = [m.subject for m in mail.outbox if m.to == [shopper.email]]
    assert mine == [f"您的订单 {order.pk} 已发货"]  # no receipt on order.paid: a user has their orders
    shipped = Notification.objects.get(user=shopper, event__name="order.shipped")
    assert "结账编号" not in shipped.body and "订单中" in shipped.body


def test_a_guest_mail_ignores_preferences_and_an_account_opened_later_with_that_address(receiver, platform_hook):
    """Transactional: the guest's mails always go. A shopper who later signs up with the same
    address and switched the event off still gets the guest order's mails (it is not their order)."""
    vendor, owner = store(None)
    with after_commit():
        (order,) = complete(ready_checkout(None, [(listing(vendor), 1)], email=GUEST)).orders
    later = make_user(GUEST)
    services.notification_preference_update(actor=later, event="order.shipped", channel="email", enabled=False)
    with after_commit():
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    assert_one_guest_mail("order.shipped", order, "en")
    assert not Notification.objects.filter(user=later).exists()


def test_an_order_whose_account_was_deleted_is_told_at_its_email(receiver, platform_hook):
    vendor, owner = store(None)
    shopper = make_user("gone@example.com")
    with after_commit():
        (order,) = complete(ready_checkout(shopper, [(listing(vendor), 1)], email=GUEST), user=shopper).orders
    shopper.delete()
    order.refresh_from_db()
    assert order.user_id is None
    with after_commit():
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    assert_one_guest_mail("order.shipped", order, "en")


class FlakySMTP(LocmemBackend):
    """The locmem backend behind an SMTP server that refuses the first `failures` messages."""

    failures = 0

    def send_messages(self, messages):
        if FlakySMTP.failures > 0:
            FlakySMTP.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_a_failing_smtp_server_is_retried_and_the_guest_mail_recovers(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakySMTP"
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    FlakySMTP.failures = 0
    vendor, owner = store(None)
    with after_commit():
        (order,) = complete(ready_checkout(None, [(listing(vendor), 1)], email=GUEST)).orders
    mail.outbox.clear()
    FlakySMTP.failures = 2  # the server goes down
    with after_commit():
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)  # the commit's try fails
    shipped = Delivery.objects.get(event__name="order.shipped", to=GUEST)
    assert shipped.status == DeliveryStatus.PENDING and shipped.attempts == 1
    assert "SMTPServerDisconnected" in shipped.last_error and guest_mails() == []
    later = timezone.now() + timedelta(seconds=31)
    services.deliveries_send_pending(now=later)  # fails again: waits 60 s
    shipped.refresh_from_db()
    assert shipped.status == DeliveryStatus.PENDING and shipped.attempts == 2
    services.deliveries_send_pending(now=later + timedelta(seconds=61))
    services.deliveries_send_pending(now=later + timedelta(hours=2))  # sent: not again
    shipped.refresh_from_db()
    assert shipped.status == DeliveryStatus.SENT
    assert [m.subject for m in guest_mails()] == [f"Your order {order.pk} was shipped"]
    log = list(shipped.attempt_log.order_by("number").values_list("number", "succeeded"))
    assert log == [(1, False), (2, False), (3, True)]


def test_the_guests_address_stays_with_the_platform(receiver, client, superuser):
    """Staff see the email recipient in the delivery log (admin); the store sees the order's email
    as before, but neither the guest's mails nor their checkout handle reach its webhooks or log."""
    vendor, owner = store(None)
    hook = services.webhook_subscription_create(actor=owner, vendor_id=vendor.pk, url=receiver.url)
    receiver.secret = hook.secret
    with after_commit():
        (order,) = complete(ready_checkout(None, [(listing(vendor), 1)], email=GUEST)).orders
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    handle = to_global_id("Checkout", str(order.checkout_token))
    assert receiver.events() == ["order.placed", "order.paid", "order.shipped"]
    for message in receiver.received:
        assert GUEST not in json.dumps(message) and handle not in json.dumps(message)

    store_api = GraphQLClient(CORE_URL).login(owner)
    log = store_api.execute(DELIVERIES)["webhookDeliveries"]
    assert log["totalCount"] == 3 and GUEST not in json.dumps(log) and handle not in json.dumps(log)
    # What the store already saw: the order's email, on the order.
    assert store_api.execute(CORE_ORDER, {"id": to_global_id("Order", order.pk)})["order"]["email"] == GUEST
    # Platform staff with the webhook log see no email deliveries there either (it is the webhook log).
    staff = GraphQLClient(CORE_URL).login(make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_PLUGINS]))
    assert GUEST not in json.dumps(staff.execute(DELIVERIES))

    client.force_login(superuser)
    page = client.get("/admin/notifications/delivery/?recipient=guest").content.decode()
    assert f"{GUEST} (guest, no account)" in page and owner.email not in page
    users = client.get("/admin/notifications/delivery/?recipient=user").content.decode()
    assert owner.email in users and GUEST not in users
    guest_delivery = Delivery.objects.get(event__name="order.shipped", to=GUEST)
    detail = client.get(f"/admin/notifications/delivery/{guest_delivery.pk}/change/").content.decode()
    assert GUEST in detail


def test_a_batch_of_guest_orders_costs_no_query_per_order(receiver, platform_hook):
    vendor, owner = store(None)
    tea = listing(vendor, price="10.00", stock=50)
    placed = []
    due = timezone.now() + timedelta(days=10)
    for days, count in ((0, 1), (1, 4)):
        with after_commit():
            batch = [complete(ready_checkout(None, [(tea, 1)], email=GUEST)).orders[0] for _ in range(count)]
            for order in batch:
                orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
        Order.objects.filter(pk__in=[o.pk for o in batch]).update(auto_confirm_at=due + timedelta(days=days))
        placed.append(batch)
    # The periodic release loads only some fields: the guests' addresses come in one query.
    costs = []
    for days, batch in enumerate(placed):
        at = due + timedelta(days=days, minutes=1)
        with CaptureQueriesContext(connection) as captured:
            assert orders.orders_auto_confirm(now=at) == len(batch)
        costs.append(len(captured))
    assert costs[1] <= costs[0], costs  # four orders cost no more than one (the first warms caches)
    assert Delivery.objects.filter(event__name="order.completed", to=GUEST).count() == 5
    assert Event.objects.filter(name="order.completed").count() == 5
    assert WebhookSubscription.objects.count() == 1
