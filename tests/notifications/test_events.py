"""Every event, raised through the domain services, reaches the inbox, email and a webhook subscriber once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from backend.catalog import services as catalog
from backend.catalog.models import ListingStatus
from backend.core.money import Money
from backend.core.permissions import PlatformPermission
from backend.disputes import services as disputes
from backend.finance import services as ledger
from backend.finance.standing import vendor_standing_refresh
from backend.notifications import services
from backend.notifications.models import Delivery, DeliveryStatus, Event, Notification, RestockAlert
from backend.orders import services as orders
from backend.vendors import services as vendors
from backend.vendors.models import VendorApplication

from ..catalog.helpers import build_catalog, listed_product
from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user
from ..disputes.helpers import deliver, make_world, open_dispute, ship

pytestmark = pytest.mark.django_db


def after_commit():
    """Run what commits queue (the outbox's deliveries), as the worker would after the commit."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def told(name: str):
    """(inbox users, email recipients) of the event `name`; each email sent is in the locmem outbox."""
    inbox = sorted(Notification.objects.filter(event__name=name).values_list("user__email", flat=True))
    emails = list(Delivery.objects.filter(event__name=name, channel="email", status=DeliveryStatus.SENT))
    outbox = {(m.subject, tuple(m.to)) for m in mail.outbox}
    assert all((d.subject, (d.to,)) in outbox for d in emails), name
    return inbox, sorted(d.to for d in emails)


def webhook_count(receiver, name: str) -> int:
    return receiver.events().count(name)


def assert_once(receiver, name: str, *users):
    emails = sorted(u.email for u in users)
    inbox, sent = told(name)
    assert inbox == emails, (name, inbox)
    assert sent == emails, (name, sent)
    assert webhook_count(receiver, name) == 1, (name, receiver.events())
    assert not receiver.refused


def test_the_order_journey_tells_the_merchant_and_the_shopper(receiver, platform_hook):
    vendor, owner = store(None)
    shopper = make_user()
    tea = listing(vendor, price="50.00", stock=50)
    with after_commit():
        (order,) = complete(ready_checkout(shopper, [(tea, 2)]), user=shopper).orders
    assert_once(receiver, "order.placed", owner)
    assert_once(receiver, "order.paid", owner)
    with after_commit():
        orders.order_ship(actor=owner, order=order, carrier="logistics.table_rate")
    assert_once(receiver, "order.shipped", shopper)
    with after_commit():
        deliver(order)
    assert_once(receiver, "order.delivered", shopper)

    order.refresh_from_db()
    # 24 hours before the automatic confirmation, once however often the task runs.
    for _ in range(2):
        with after_commit():
            services.reminders_send(now=order.auto_confirm_at - timedelta(hours=23))
    assert_once(receiver, "order.confirmation_due", shopper)
    # Extending the deadline is a new deadline: reminded again, once.
    with after_commit():
        orders.order_extend_confirmation(actor=shopper, order=order)
        order.refresh_from_db()
        services.reminders_send(now=order.auto_confirm_at - timedelta(hours=1))
        services.reminders_send(now=order.auto_confirm_at - timedelta(hours=1))
    assert Notification.objects.filter(event__name="order.confirmation_due").count() == 2

    with after_commit():
        orders.order_confirm_receipt(actor=shopper, order=order)
    assert_once(receiver, "order.completed", owner, shopper)
    # The webhook carries the order, and says which delivery it is.
    message = next(m for m in receiver.received if m["event"] == "order.completed")
    assert message["data"]["number"] == str(order.pk) and message["data"]["status"] == "completed"
    assert message["headers"]["x-marketplace-delivery"] == str(message["id"])


def test_the_periodic_release_tells_each_order_once(receiver, platform_hook):
    world = make_world()
    ship(world)
    world.order.refresh_from_db()
    with after_commit():
        orders.orders_auto_confirm(now=world.order.auto_confirm_at + timedelta(minutes=1))
        orders.orders_auto_confirm(now=world.order.auto_confirm_at + timedelta(minutes=2))
    assert_once(receiver, "order.completed", world.owner, world.shopper)


def test_the_dispute_journey_and_its_deadline_reminders(receiver, platform_hook):
    world = make_world()
    arbiter = make_user(is_staff=True, permissions=[PlatformPermission.ARBITRATE_DISPUTES])
    with after_commit():
        dispute = open_dispute(world)
    assert_once(receiver, "dispute.opened", world.owner)
    dispute.refresh_from_db()
    with after_commit():
        services.reminders_send(now=dispute.deadline_at - timedelta(hours=2))
        services.reminders_send(now=dispute.deadline_at - timedelta(hours=1))
    # The store must answer: the store is reminded, not the shopper.
    assert_once(receiver, "dispute.deadline_due", world.owner)
    with after_commit():
        disputes.dispute_respond(actor=world.owner, dispute=dispute, accept=False, message="It is the tea shown.")
    assert_once(receiver, "dispute.answered", world.shopper)
    with after_commit():
        disputes.dispute_escalate(actor=world.shopper, dispute=dispute, message="Please look at it.")
    assert_once(receiver, "dispute.escalated", world.owner, world.shopper)
    with after_commit():
        disputes.dispute_resolve(actor=arbiter, dispute=dispute, outcome="reject", note="As shown.")
    assert_once(receiver, "dispute.ruled", world.owner, world.shopper)
    message = next(m for m in receiver.received if m["event"] == "dispute.ruled")
    assert message["data"]["ruling"] == "reject"


def test_application_decisions_tell_the_applicant(receiver, platform_hook):
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_VENDORS])
    applicants = [make_user() for _ in range(3)]
    applications = [
        VendorApplication.objects.create(applicant=a, store_name=f"Tea house {i}", company_name="Tea Ltd",
                                         contact_email=a.email)
        for i, a in enumerate(applicants)
    ]
    with after_commit():
        vendors.vendor_application_request_info(actor=staff, application=applications[0], message="Send the licence.")
        vendors.vendor_application_reject(actor=staff, application=applications[1], reason="No licence.")
        vendors.vendor_application_approve(actor=staff, application=applications[2])
    assert_once(receiver, "vendor_application.info_requested", applicants[0])
    assert_once(receiver, "vendor_application.rejected", applicants[1])
    assert_once(receiver, "vendor_application.approved", applicants[2])
    message = next(m for m in receiver.received if m["event"] == "vendor_application.info_requested")
    assert message["data"]["reason"] == "Send the licence."


def test_listing_review_tells_the_store(receiver, platform_hook):
    tree = build_catalog()
    vendor, owner = store(None)
    with after_commit():
        listed_product(vendor, owner, tree["phones"], name="Phone A", status=ListingStatus.PUBLISHED)
        listed_product(vendor, owner, tree["phones"], name="Phone B", status=ListingStatus.REJECTED)
    assert_once(receiver, "listing.approved", owner)
    assert_once(receiver, "listing.rejected", owner)


def test_deposit_short_restriction_deadline_and_payouts(receiver, platform_hook, settings):
    vendor, owner = store(None)
    settings.FEE_DEFAULT_DEPOSIT = Decimal("1000.00")
    with after_commit():
        vendor_standing_refresh(vendor=vendor)
    assert_once(receiver, "vendor.deposit_short", owner)
    restriction = vendor.restrictions.get()
    with after_commit():
        services.reminders_send(now=restriction.deadline - timedelta(hours=3))
        services.reminders_send(now=restriction.deadline - timedelta(hours=2))
    assert_once(receiver, "vendor.restriction_deadline_due", owner)

    amount = Money(Decimal("80.00"), "CNY")
    ledger.deposit_top_up(ref="fund", vendor=vendor.pk, amount=Money(Decimal("500.00"), "CNY"))
    with after_commit():
        for ref in ("P-1", "P-2"):
            from backend.finance import accounts
            from backend.finance.ledger import post_transaction
            from backend.finance.models import TransactionKind

            post_transaction(
                idempotency_key=f"seed:{ref}", kind=TransactionKind.ADJUSTMENT,
                entries=[(accounts.vendor_available(vendor.pk), amount), (accounts.GATEWAY, -amount)],
                description="seed",
            )
            ledger.payout_reserve(payout_ref=ref, vendor=vendor.pk, amount=amount)
        ledger.payout_settle(payout_ref="P-1", vendor=vendor.pk, amount=amount)
        ledger.payout_settle(payout_ref="P-1", vendor=vendor.pk, amount=amount)  # a duplicated gateway event
        ledger.payout_fail(payout_ref="P-2", vendor=vendor.pk, amount=amount)
    assert_once(receiver, "payout.sent", owner)
    assert_once(receiver, "payout.failed", owner)


def test_low_stock_and_restock_alerts(receiver, platform_hook):
    vendor, owner = store(None)
    shopper, waiting = make_user(), make_user()
    tea = listing(vendor, price="10.00", stock=7)
    with after_commit():
        complete(ready_checkout(shopper, [(tea, 2)]), user=shopper)  # 7 -> 5: at the level
        complete(ready_checkout(shopper, [(tea, 1)]), user=shopper)  # 5 -> 4: already told
    assert_once(receiver, "stock.low", owner)

    empty = listing(vendor, price="10.00", stock=0)
    alert = services.restock_alert_subscribe(actor=waiting, variant=empty)
    assert services.restock_alert_subscribe(actor=waiting, variant=empty) == alert
    with after_commit():
        catalog.product_variant_update(actor=owner, variant=empty, stock=3)
        catalog.product_variant_update(actor=owner, variant=empty, stock=4)
    inbox, sent = told("restock.available")
    assert inbox == sent == [waiting.email]
    # Restock alerts go to the platform's subscribers, never to the store's (who waits is private).
    assert webhook_count(receiver, "restock.available") == 1
    alert.refresh_from_db()
    assert alert.fired_at is not None
    assert RestockAlert.objects.filter(fired_at__isnull=True).count() == 0


def test_a_restock_alert_waits_while_the_listing_is_off_the_storefront(receiver, platform_hook):
    vendor, owner = store(None)
    waiting = make_user()
    empty = listing(vendor, price="10.00", stock=0)
    alert = services.restock_alert_subscribe(actor=waiting, variant=empty)
    staff = make_user(is_staff=True, permissions=[PlatformPermission.REVIEW_LISTINGS])
    product = catalog.product_delist(actor=staff, product=empty.product, reason="check")
    with after_commit():
        catalog.product_variant_update(actor=owner, variant=empty, stock=3)
    alert.refresh_from_db()
    assert alert.fired_at is None and told("restock.available") == ([], [])  # nothing said of a hidden listing

    product.refresh_from_db()
    catalog.product_submit_for_review(actor=owner, product=product)
    with after_commit():
        catalog.product_approve(actor=staff, product=product)  # back on the storefront, with stock
    inbox, sent = told("restock.available")
    assert inbox == sent == [waiting.email]
    alert.refresh_from_db()
    assert alert.fired_at is not None


def test_a_store_subscription_gets_only_its_own_events(receiver):
    from backend.notifications.models import WebhookSubscription

    ours, our_owner = store(None)
    theirs, _their_owner = store(None)
    subscription = services.webhook_subscription_create(actor=our_owner, vendor_id=ours.pk, url=receiver.url)
    receiver.secret = subscription.secret
    shopper = make_user()
    with after_commit():
        complete(ready_checkout(shopper, [(listing(ours), 1)]), user=shopper)
        complete(ready_checkout(shopper, [(listing(theirs), 1)]), user=shopper)
    assert receiver.events().count("order.paid") == 1
    assert {m["data"]["order"] for m in receiver.received} == {
        m["data"]["order"] for m in receiver.received if m["event"] == "order.placed"
    }
    assert WebhookSubscription.objects.count() == 1


def test_the_shoppers_language_chooses_the_template(receiver, platform_hook):
    vendor, owner = store(None)
    shopper = make_user()
    shopper.language_code = "zh-hans"
    shopper.save()
    world_tea = listing(vendor, price="10.00", stock=10)
    with after_commit():
        (order,) = complete(ready_checkout(shopper, [(world_tea, 1)]), user=shopper).orders
        orders.order_ship(actor=owner, order=order, carrier="logistics.table_rate")
    shipped = Notification.objects.get(event__name="order.shipped")
    assert shipped.title == f"您的订单 {order.pk} 已发货"
    paid = Notification.objects.get(event__name="order.paid")
    assert paid.title == f"Order {order.pk} is paid: ship it"
    assert [m.subject for m in mail.outbox if m.to == [shopper.email]] == [shipped.title]


def test_nothing_is_told_when_the_transaction_rolls_back(receiver, platform_hook):
    from django.db import transaction

    vendor, owner = store(None)
    shopper = make_user()
    tea = listing(vendor, price="10.00", stock=10)
    with after_commit():
        try:
            with transaction.atomic():
                complete(ready_checkout(shopper, [(tea, 1)]), user=shopper)
                raise RuntimeError("crash after placing")
        except RuntimeError:
            pass
    assert Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert receiver.received == [] and mail.outbox == []
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 0
