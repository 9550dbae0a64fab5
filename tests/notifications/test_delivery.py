"""Delivery: retries with backoff, a receiver that fails and recovers, giving up after a day, the
delivery log, the SSRF guard, test-send and preferences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from backend.core.exceptions import DomainError
from backend.notifications import services, webhooks
from backend.notifications.error_codes import NotificationErrorCode
from backend.notifications.models import Delivery, DeliveryStatus, Notification, WebhookSubscription
from backend.orders import services as orders

from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user

pytestmark = pytest.mark.django_db


def after_commit():
    return TestCase.captureOnCommitCallbacks(execute=True)


def place_order(shopper=None):
    vendor, owner = store(None)
    shopper = shopper or make_user()
    (order,) = complete(ready_checkout(shopper, [(listing(vendor, price="10.00"), 1)]), user=shopper).orders
    return order, owner, shopper


def test_a_receiver_that_fails_gets_it_again_with_backoff_and_recovers(receiver, platform_hook, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    receiver.fail_next(3)
    with after_commit():
        place_order()
    hooks = Delivery.objects.filter(channel="webhook").order_by("pk")
    assert hooks.count() == 2  # order.placed and order.paid
    first = hooks.first()
    # The commit's tries failed: each waits 30 s before the next.
    assert first.status == DeliveryStatus.PENDING and first.attempts == 1
    assert first.next_attempt_at - first.attempt_log.get().created_at == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=2))
    assert services.deliveries_send_pending() == 0  # not due yet
    later = timezone.now() + timedelta(seconds=31)
    services.deliveries_send_pending(now=later)  # the third failure and the first success
    first.refresh_from_db()
    assert first.attempts == 2
    assert first.next_attempt_at - timezone.now() > timedelta(seconds=55)  # 30 s, then 60 s
    services.deliveries_send_pending(now=later + timedelta(seconds=61))
    assert set(hooks.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert sorted(receiver.events()) == ["order.paid", "order.placed"]  # each once
    log = list(first.attempt_log.order_by("number").values_list("number", "succeeded", "response_status"))
    assert log == [(1, False, 503), (2, False, 503), (3, True, 204)]


def test_a_receiver_down_for_a_day_is_given_up(receiver, platform_hook, settings):
    receiver.fail_next(10_000)
    with after_commit():
        place_order()
    delivery = Delivery.objects.filter(channel="webhook").first()
    now = timezone.now()
    for hours in range(1, 30):
        services.deliveries_send_pending(now=now + timedelta(hours=hours))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts >= 10
    assert delivery.attempt_log.filter(succeeded=True).count() == 0
    assert services.deliveries_send_pending(now=now + timedelta(days=3)) == 0


def test_a_wrong_secret_is_refused_by_the_receiver(receiver, platform_hook):
    receiver.secret = "not-the-secret"
    with after_commit():
        place_order()
    assert receiver.received == [] and len(receiver.refused) == 2
    assert Delivery.objects.filter(channel="webhook", status=DeliveryStatus.PENDING).count() == 2


def test_the_signature_covers_timestamp_and_body():
    body = b'{"event":"order.paid"}'
    header = webhooks.sign("s3cret", 1_700_000_000, body)
    assert webhooks.verify("s3cret", header, body, now=1_700_000_010)
    assert not webhooks.verify("s3cret", header, body + b" ", now=1_700_000_010)
    assert not webhooks.verify("other", header, body, now=1_700_000_010)
    assert not webhooks.verify("s3cret", header, body, now=1_700_000_000 + 3600)  # a replay
    assert not webhooks.verify("s3cret", header.replace("t=1700000000", "t=1700000005"), body, now=1_700_000_010)


def test_a_lost_task_is_sent_by_the_periodic_task(receiver, platform_hook):
    place_order()  # its commit never ran the queued tasks (as when the broker lost them)
    assert receiver.received == [] and mail.outbox == []
    assert services.deliveries_send_pending() == Delivery.objects.count()
    assert sorted(receiver.events()) == ["order.paid", "order.placed"]
    assert services.deliveries_send_pending() == 0  # sent once


def test_two_workers_at_once_send_once(receiver, platform_hook):
    place_order()
    delivery = Delivery.objects.filter(channel="webhook").first()
    now = timezone.now()
    claimed = services._claim(delivery.pk, now)  # a worker is sending it
    assert claimed is not None
    assert services.delivery_send(delivery_id=delivery.pk, now=now) is False
    # The claim of a worker that died lapses; then it is sent.
    assert services.delivery_send(delivery_id=delivery.pk, now=now + timedelta(minutes=3)) is True
    assert receiver.events().count(delivery.event.name) == 1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://169.254.169.254/latest", "http://[::1]/x",
            "ftp://example.com/x", "http://user:pw@example.com/x", "http://localhost/hook"]
)
def test_webhooks_to_private_targets_are_refused(settings, url):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    vendor, owner = store(None)
    with pytest.raises(DomainError) as refused:
        services.webhook_subscription_create(actor=owner, vendor_id=vendor.pk, url=url)
    assert refused.value.code == NotificationErrorCode.FORBIDDEN_TARGET


def test_a_target_that_turned_private_is_not_sent_to(receiver, platform_hook, settings):
    with after_commit():
        settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
        place_order()
    assert receiver.received == []
    assert "loopback, private or reserved" in Delivery.objects.filter(channel="webhook").first().last_error


def test_only_the_store_and_staff_manage_a_store_subscription(receiver):
    from backend.core.permissions import PlatformPermission

    vendor, owner = store(None)
    stranger = make_user()
    with pytest.raises(DomainError):
        services.webhook_subscription_create(actor=stranger, vendor_id=vendor.pk, url=receiver.url)
    with pytest.raises(DomainError):
        services.webhook_subscription_create(actor=owner, vendor_id=None, url=receiver.url)
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_PLUGINS])
    platform = services.webhook_subscription_create(actor=staff, vendor_id=None, url=receiver.url)
    ours = services.webhook_subscription_create(actor=owner, vendor_id=vendor.pk, url=receiver.url, events=["order.paid"])
    assert list(services.visible_subscriptions(owner)) == [ours]
    assert set(services.visible_subscriptions(staff)) == {platform, ours}
    assert list(services.visible_subscriptions(stranger)) == []
    with pytest.raises(DomainError) as unknown:
        services.webhook_subscription_create(actor=owner, vendor_id=vendor.pk, url=receiver.url, events=["order.lost"])
    assert unknown.value.code == NotificationErrorCode.INVALID


def test_test_send_reaches_the_receiver_and_logs_it(receiver):
    vendor, owner = store(None)
    subscription = services.webhook_subscription_create(actor=owner, vendor_id=vendor.pk, url=receiver.url)
    receiver.secret = subscription.secret
    delivery = services.webhook_subscription_test_send(actor=owner, subscription=subscription)
    assert delivery.status == DeliveryStatus.SENT
    assert receiver.events() == ["webhook.test"]
    assert list(services.visible_deliveries(owner)) == [delivery]
    assert list(services.visible_deliveries(make_user())) == []
    receiver.fail_next(1)
    failed = services.webhook_subscription_test_send(actor=owner, subscription=subscription)
    assert failed.status == DeliveryStatus.PENDING and failed.last_error == "HTTP 503"


def test_preferences_switch_channels_off_and_money_deadline_reminders_need_a_confirmation(receiver, platform_hook):
    order, owner, shopper = place_order()
    with pytest.raises(DomainError) as refused:
        services.notification_preference_update(actor=shopper, event="order.confirmation_due", channel="email", enabled=False)
    assert refused.value.code == NotificationErrorCode.CONFIRMATION_REQUIRED
    services.notification_preference_update(
        actor=shopper, event="order.confirmation_due", channel="email", enabled=False, confirm_money_deadline=True
    )
    services.notification_preference_update(actor=owner, event="order.completed", channel="inbox", enabled=False)
    with after_commit():
        orders.order_ship(actor=owner, order=order, carrier="logistics.table_rate")
        order.refresh_from_db()
        services.reminders_send(now=order.auto_confirm_at - timedelta(hours=1))
        orders.order_confirm_receipt(actor=shopper, order=order)
    # Switched off: no email, the inbox still has it; webhooks are not a user's preference.
    assert not Delivery.objects.filter(event__name="order.confirmation_due", channel="email").exists()
    assert Notification.objects.filter(event__name="order.confirmation_due", user=shopper).count() == 1
    assert not Notification.objects.filter(event__name="order.completed", user=owner).exists()
    assert Delivery.objects.filter(event__name="order.completed", channel="email", user=owner).exists()
    preferences = {(p["event"], p["channel"]): p["enabled"] for p in services.preferences_of(shopper)}
    assert preferences[("order.confirmation_due", "email")] is False
    assert preferences[("order.confirmation_due", "inbox")] is True


def test_an_email_that_fails_is_retried(receiver, platform_hook, settings, monkeypatch):
    calls = {"n": 0}
    from django.core.mail.backends.locmem import EmailBackend

    real = EmailBackend.send_messages

    def flaky(self, messages):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionRefusedError("SMTP down")
        return real(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky)
    with after_commit():
        place_order()
    failed = Delivery.objects.filter(channel="email").order_by("pk").first()
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING and "SMTP down" in failed.last_error
    services.deliveries_send_pending(now=timezone.now() + timedelta(minutes=5))
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert len(mail.outbox) == Delivery.objects.filter(channel="email").count()


def test_subscription_filters_events(receiver):
    vendor, owner = store(None)
    subscription = services.webhook_subscription_create(
        actor=owner, vendor_id=vendor.pk, url=receiver.url, events=["order.paid"]
    )
    receiver.secret = subscription.secret
    shopper = make_user()
    with after_commit():
        complete(ready_checkout(shopper, [(listing(vendor), 1)]), user=shopper)
    assert receiver.events() == ["order.paid"]
    services.webhook_subscription_update(actor=owner, subscription=subscription, is_active=False)
    with after_commit():
        complete(ready_checkout(shopper, [(listing(vendor), 1)]), user=shopper)
    assert receiver.events() == ["order.paid"]
    assert WebhookSubscription.objects.get().is_active is False
