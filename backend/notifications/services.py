"""Telling people what happened: the outbox, its delivery, the inbox, preferences, webhook
subscriptions, favourites and restock alerts.

`notify(event, **what)` is the one call domain services make. It writes, in the caller's
transaction, the event, each recipient's inbox message and the outbox rows (one per email and
per webhook subscription); after commit each outbox row is queued for the worker
(`notifications.deliver`), which sends it with no row locked and records the try in the
delivery log. A failed try is retried with exponential backoff for
NOTIFICATIONS_RETRY_FOR_SECONDS (a day), then given up. Rows whose task was lost (a broker
outage, a killed worker, the embedded mode's retries) are sent by the periodic
`notifications.deliver_pending`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone, translation

from backend.core.exceptions import DomainError
from backend.core.periodic import record_processed
from backend.core.permissions import PlatformPermission, has_permission, require_authenticated

from . import webhooks
from .error_codes import NotificationErrorCode as E
from .events import DISPUTE_ACTIONS, EVENTS, USER_EVENTS, Notice
from .models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    Favourite,
    Notification,
    NotificationPreference,
    RestockAlert,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

USER_CHANNELS = (Channel.EMAIL, Channel.INBOX)


# --- Writing the outbox ----------------------------------------------------------------


_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("notifications_batch", default=None)


def notify(name: str, /, **what) -> list[Event]:
    """Record the event `name` for everyone concerned, in the caller's transaction (see the module doc).

    Inside `batched()` the notices are built now and written when the block ends (returns [])."""
    spec = EVENTS[name]
    notices = [n for n in spec.build(**what) if n is not None]
    pending = _batch.get()
    if pending is not None:
        pending += [(name, n) for n in notices]
        return []
    return _write(name, notices) if notices else []


@contextlib.contextmanager
def batched():
    """Several notify() calls written together at the end of the block, in a fixed number of
    queries (one look-up of recipients, preferences and subscriptions; one insert per table):
    a checkout's orders are placed and paid in one go. Nothing is written if the block raises."""
    if _batch.get() is not None:
        yield
        return
    pending: list[tuple[str, Notice]] = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    if pending:
        _write_many(pending)


def notify_dispute(dispute, action: str) -> list[Event]:
    """A dispute moved (its audit action names the move); the moves people are told about."""
    name = DISPUTE_ACTIONS.get(action)
    return notify(name, dispute=dispute) if name else []


def language_of(user) -> str:
    codes = {code for code, _label in settings.LANGUAGES}
    return user.language_code if user.language_code in codes else settings.LANGUAGE_CODE


def render(name: str, language: str, params: dict) -> tuple[str, str]:
    """(subject, body) of the event's template in the language: first line subject, the rest body."""
    with translation.override(language):
        template = get_template(f"notifications/{language}/{name}.txt")
        text = template.template.render(Context(params, autoescape=False)).strip()
    subject, _newline, body = text.partition("\n")
    return subject.strip()[:255], body.strip()


def _create_events(name: str, notices: list[Notice]) -> list[tuple[Event, Notice]]:
    keyed = [n for n in notices if n.key]
    if len(notices) == 1 and keyed:
        notice = notices[0]
        try:
            with transaction.atomic():
                event = Event.objects.create(name=name, vendor_id=notice.vendor_id, payload=notice.data, dedupe_key=notice.key)
        except IntegrityError:  # told already (a retried request, a duplicated webhook, a second run)
            return []
        return [(event, notice)]
    return [(event, notice) for event, (_name, notice) in _create_many_events([(name, n) for n in notices])]


def _create_many_events(named: list[tuple[str, Notice]]) -> list[tuple[Event, tuple[str, Notice]]]:
    keyed = [n for _name, n in named if n.key]
    if keyed:
        done = set(Event.objects.filter(dedupe_key__in=[n.key for n in keyed]).values_list("dedupe_key", flat=True))
        named = [(name, n) for name, n in named if not n.key or n.key not in done]
        # The same key twice in one batch is one event.
        seen: set[str] = set()
        named = [(name, n) for name, n in named if not n.key or not (n.key in seen or seen.add(n.key))]
    events = Event.objects.bulk_create(
        [Event(name=name, vendor_id=n.vendor_id, payload=n.data, dedupe_key=n.key) for name, n in named]
    )
    return list(zip(events, named))


def _write(name: str, notices: list[Notice]) -> list[Event]:
    created = _create_events(name, notices)
    return _write_created([(event, (name, notice)) for event, notice in created])


def _write_many(named: list[tuple[str, Notice]]) -> list[Event]:
    return _write_created(_create_many_events(named))


def _write_created(created: list[tuple[Event, tuple[str, Notice]]]) -> list[Event]:
    """Inbox messages and outbox rows of new events (of one or several names), in a fixed number of queries."""
    if not created:
        return []
    now = timezone.now()
    user_ids = {uid for _e, (name, n) in created if EVENTS[name].to_users for uid in n.users}
    users = (
        {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids, is_active=True).only("email", "language_code")}
        if user_ids
        else {}
    )
    names = {name for _e, (name, _n) in created}
    off = set(
        NotificationPreference.objects.filter(user_id__in=users, event__in=names, enabled=False).values_list(
            "event", "user_id", "channel"
        )
    ) if users else set()
    vendor_ids = {e.vendor_id for e, _n in created if e.vendor_id}
    subscriptions = list(
        WebhookSubscription.objects.filter(is_active=True).filter(models_q_vendor_or_platform(vendor_ids))
    )
    inbox, outbox = [], []
    for event, (name, notice) in created:
        spec = EVENTS[name]
        for user_id in dict.fromkeys(notice.users) if spec.to_users else ():
            user = users.get(user_id)
            if user is None:
                continue
            language = language_of(user)
            subject, body = render(name, language, notice.params)
            if (name, user_id, Channel.INBOX) not in off:
                inbox.append(Notification(user_id=user_id, event=event, title=subject, body=body))
            if (name, user_id, Channel.EMAIL) not in off and user.email:
                outbox.append(
                    Delivery(event=event, channel=Channel.EMAIL, user_id=user_id, to=user.email, language=language,
                             subject=subject, body=body, next_attempt_at=now)
                )
        if spec.to_users:
            outbox += _guest_mails(name, event, notice, now)
        for subscription in subscriptions:
            if subscription.wants(name) and (subscription.vendor_id is None or subscription.vendor_id == event.vendor_id):
                outbox.append(
                    Delivery(event=event, channel=Channel.WEBHOOK, subscription=subscription, to=subscription.url,
                             next_attempt_at=now)
                )
    Notification.objects.bulk_create(inbox)
    outbox = Delivery.objects.bulk_create(outbox)
    ids = [d.pk for d in outbox]
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    return [event for event, _named in created]


def _guest_mails(name: str, event: Event, notice: Notice, now: datetime) -> list[Delivery]:
    """Email-only recipients (a guest order's address): no inbox, no preferences (transactional),
    the same outbox row, retries and delivery log as a user's email; the row has no user."""
    mails = []
    for address, language in dict.fromkeys(notice.emails):
        params = {**notice.params, **notice.guest_params, "guest": True}
        subject, body = render(notice.guest_template or name, language, params)
        mails.append(
            Delivery(event=event, channel=Channel.EMAIL, user=None, to=address, language=language, subject=subject,
                     body=body, next_attempt_at=now)
        )
    return mails


def models_q_vendor_or_platform(vendor_ids: set[int]):
    from django.db.models import Q

    return Q(vendor__isnull=True) | Q(vendor_id__in=vendor_ids)


def enqueue(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    from .tasks import deliver

    for delivery_id in delivery_ids:
        try:
            if countdown:
                deliver.apply_async((delivery_id,), countdown=countdown)
            else:
                deliver.delay(delivery_id)
        except Exception:  # the broker is down: deliver_pending sends it later
            logger.warning("Delivery %s could not be queued; the periodic task will send it", delivery_id, exc_info=True)


# --- Delivering ------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed try: base * 2**(n-1), at most the maximum."""
    seconds = settings.NOTIFICATIONS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.NOTIFICATIONS_RETRY_MAX_SECONDS))


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None or delivery.next_attempt_at > now:
            return None
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            return None  # another worker is sending it
        delivery.claimed_until = now + timedelta(seconds=settings.NOTIFICATIONS_CLAIM_SECONDS)
        delivery.attempts += 1
        delivery.save(update_fields=["claimed_until", "attempts"])
    return delivery


def _send(delivery: Delivery) -> webhooks.Result:
    if delivery.channel == Channel.EMAIL:
        from django.core.mail import send_mail

        try:
            send_mail(delivery.subject, delivery.body, settings.DEFAULT_FROM_EMAIL, [delivery.to])
        except Exception as error:  # SMTP down or refusing: tried again later
            return webhooks.Result(False, None, f"{type(error).__name__}: {error}"[:500])
        return webhooks.Result(True, None, "")
    subscription = delivery.subscription
    if subscription is None or not subscription.is_active:
        return webhooks.Result(False, None, "The subscription was deleted or switched off.")
    return webhooks.post(url=subscription.url, secret=subscription.secret, delivery_id=delivery.pk, event=delivery.event)


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> bool:
    """Try one due delivery once; True when it was sent. Safe to call twice at once (the claim)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return False
    started = time.monotonic()
    result = _send(delivery)  # no row locked here
    duration = int((time.monotonic() - started) * 1000)
    retry_in = None
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        DeliveryAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, succeeded=result.ok, response_status=result.status,
            error=result.error, duration_ms=duration,
        )
        delivery.claimed_until = None
        delivery.last_error = result.error
        if result.ok:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = timezone.now()
        else:
            next_at = now + retry_delay(delivery.attempts)
            gone = delivery.channel == Channel.WEBHOOK and (delivery.subscription_id is None or not delivery.subscription.is_active)
            if gone or next_at - delivery.created_at > timedelta(seconds=settings.NOTIFICATIONS_RETRY_FOR_SECONDS):
                delivery.status = DeliveryStatus.FAILED
            else:
                delivery.next_attempt_at = next_at
                retry_in = retry_delay(delivery.attempts).total_seconds()
        delivery.save(update_fields=["claimed_until", "last_error", "status", "sent_at", "next_attempt_at"])
    if retry_in is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        # Eagerly (embedded) a countdown would not wait: the periodic task retries instead.
        enqueue([delivery.pk], countdown=retry_in)
    record_processed("delivery", delivery.pk)
    return result.ok


def deliveries_send_pending(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send every due delivery (retries, and rows whose task was lost); returns how many were sent."""
    now = now or timezone.now()
    from django.db.models import Q

    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(delivery_send(delivery_id=pk, now=now) for pk in ids)


# --- Reminders (24 hours before a deadline) --------------------------------------------


def _remind(name: str, objects, key, *, kwarg: str) -> int:
    """notify(name) for each object whose reminder for this deadline was not sent yet."""
    objects = list(objects)
    if not objects:
        return 0
    done = set(Event.objects.filter(dedupe_key__in=[key(o) for o in objects]).values_list("dedupe_key", flat=True))
    sent = 0
    for obj in objects:
        if key(obj) in done:
            continue
        with transaction.atomic():
            sent += len(notify(name, **{kwarg: obj}))
    return sent


def reminders_send(*, now: datetime | None = None) -> dict:
    """Reminders of the deadlines passing within NOTIFICATIONS_REMINDER_HOURS; each once per deadline."""
    from backend.disputes.models import ACTIVE_STATUSES, Dispute
    from backend.finance.models import RestrictionStatus, VendorRestriction
    from backend.orders.models import Order, OrderStatus

    now = now or timezone.now()
    until = now + timedelta(hours=settings.NOTIFICATIONS_REMINDER_HOURS)
    orders = Order.objects.filter(
        status__in=(OrderStatus.SHIPPED, OrderStatus.DELIVERED), release_frozen=False,
        auto_confirm_at__gt=now, auto_confirm_at__lte=until,
    ).order_by("auto_confirm_at", "pk")
    disputes = Dispute.objects.filter(
        status__in=ACTIVE_STATUSES, deadline_at__gt=now, deadline_at__lte=until
    ).order_by("deadline_at", "pk")
    restrictions = VendorRestriction.objects.filter(
        status=RestrictionStatus.OPEN, deadline__gt=now, deadline__lte=until
    ).select_related("vendor").order_by("deadline", "pk")
    return {
        "orders": _remind("order.confirmation_due", orders,
                          lambda o: f"order.confirmation_due:{o.pk}:{o.auto_confirm_at.isoformat()}", kwarg="order"),
        "disputes": _remind("dispute.deadline_due", disputes,
                            lambda d: f"dispute.deadline_due:{d.pk}:{d.status}:{d.deadline_at.isoformat()}", kwarg="dispute"),
        "restrictions": _remind(
            "vendor.restriction_deadline_due", restrictions,
            lambda r: f"vendor.restriction_deadline_due:{r.pk}:{r.deadline.isoformat()}", kwarg="restriction",
        ),
    }


# --- The inbox -------------------------------------------------------------------------


def inbox_of(user):
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk).select_related("event").order_by("-created_at", "-pk")


def unread_count(user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notification_mark_read(*, actor, notification_ids: list[int]) -> list[Notification]:
    """Mark the caller's own messages read; anyone else's answers NOT_FOUND."""
    require_authenticated(actor, E.PERMISSION_DENIED)
    found = list(inbox_of(actor).filter(pk__in=notification_ids))
    if len(found) != len(set(notification_ids)):
        raise DomainError(E.NOT_FOUND, "No such notification.", field="ids")
    now = timezone.now()
    Notification.objects.filter(pk__in=[n.pk for n in found], read_at__isnull=True).update(read_at=now)
    for notification in found:
        notification.read_at = notification.read_at or now
    return found


def notification_mark_all_read(*, actor) -> int:
    require_authenticated(actor, E.PERMISSION_DENIED)
    return Notification.objects.filter(user_id=actor.pk, read_at__isnull=True).update(read_at=timezone.now())


# --- Preferences -----------------------------------------------------------------------


def preferences_of(user) -> list[dict]:
    """Every event a user can get, per channel, with the user's choice or the default (on)."""
    chosen = {}
    if user is not None and user.is_authenticated:
        chosen = {
            (p.event, p.channel): p.enabled for p in NotificationPreference.objects.filter(user_id=user.pk)
        }
    return [
        {
            "event": name,
            "channel": channel,
            "enabled": chosen.get((name, channel), True),
            "description": EVENTS[name].description,
            "money_deadline": EVENTS[name].money_deadline,
        }
        for name in USER_EVENTS
        for channel in USER_CHANNELS
    ]


def notification_preference_update(
    *, actor, event: str, channel: str, enabled: bool, confirm_money_deadline: bool = False
) -> dict:
    require_authenticated(actor, E.PERMISSION_DENIED)
    if event not in USER_EVENTS:
        raise DomainError(E.INVALID, f"Unknown event {event!r}.", field="event")
    if channel not in USER_CHANNELS:
        raise DomainError(E.INVALID, "Preferences are per email or inbox.", field="channel")
    if not enabled and EVENTS[event].money_deadline and not confirm_money_deadline:
        raise DomainError(
            E.CONFIRMATION_REQUIRED,
            "This reminder warns of a deadline after which money moves automatically; "
            "switch it off with confirmMoneyDeadline: true if you really want to.",
            field="confirmMoneyDeadline",
        )
    NotificationPreference.objects.update_or_create(
        user_id=actor.pk, event=event, channel=channel, defaults={"enabled": enabled}
    )
    return next(p for p in preferences_of(actor) if p["event"] == event and p["channel"] == channel)


# --- Webhook subscriptions -------------------------------------------------------------


def _may_manage_subscriptions(user, vendor_id: int | None) -> bool:
    if has_permission(user, PlatformPermission.MANAGE_PLUGINS):
        return True
    if vendor_id is None or user is None or not user.is_authenticated:
        return False
    from backend.vendors.models import VendorRole, VendorStaff

    return VendorStaff.objects.filter(
        user_id=user.pk, vendor_id=vendor_id, role__in=[VendorRole.OWNER, VendorRole.OPERATOR]
    ).exists()


def visible_subscriptions(user, queryset=None):
    """Staff with MANAGE_PLUGINS see every subscription; a store's owner and operators their store's."""
    from backend.vendors.models import VendorRole, VendorStaff

    queryset = WebhookSubscription.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_PLUGINS):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    vendors = VendorStaff.objects.filter(user_id=user.pk, role__in=[VendorRole.OWNER, VendorRole.OPERATOR]).values("vendor_id")
    return queryset.filter(vendor_id__in=vendors)


def visible_deliveries(user, queryset=None):
    """The webhook delivery log of the subscriptions the user may see."""
    queryset = Delivery.objects.all() if queryset is None else queryset
    return queryset.filter(channel=Channel.WEBHOOK, subscription__in=visible_subscriptions(user))


def _clean_events(events) -> list[str]:
    events = list(dict.fromkeys(events or []))
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise DomainError(E.INVALID, f"Unknown events: {', '.join(unknown)}.", field="events")
    return events


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise DomainError(E.REQUIRED, "Give the URL to send to.", field="url")
    if len(url) > 500:
        raise DomainError(E.INVALID, "At most 500 characters.", field="url")
    try:
        webhooks.check_target(url)
    except webhooks.ForbiddenTarget as error:
        raise DomainError(E.FORBIDDEN_TARGET, str(error), field="url") from error
    return url


def webhook_subscription_create(*, actor, vendor_id: int | None, url: str, events=None) -> WebhookSubscription:
    from backend.vendors.models import Vendor

    if not _may_manage_subscriptions(actor, vendor_id):
        raise DomainError(E.PERMISSION_DENIED, "You may not manage these webhooks.")
    if vendor_id is not None and not Vendor.objects.filter(pk=vendor_id).exists():
        raise DomainError(E.NOT_FOUND, "No such store.", field="vendor")
    return WebhookSubscription.objects.create(
        vendor_id=vendor_id, url=_clean_url(url), events=_clean_events(events), created_by=actor
    )


def webhook_subscription_update(
    *, actor, subscription: WebhookSubscription, url: str | None = None, events=None, is_active: bool | None = None
) -> WebhookSubscription:
    if not _may_manage_subscriptions(actor, subscription.vendor_id):
        raise DomainError(E.NOT_FOUND, "No such subscription.", field="id")
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if url is not None:
        subscription.url = _clean_url(url)
    if events is not None:
        subscription.events = _clean_events(events)
    if is_active is not None:
        subscription.is_active = is_active
    subscription.save()
    return subscription


def webhook_subscription_delete(*, actor, subscription: WebhookSubscription) -> None:
    if not _may_manage_subscriptions(actor, subscription.vendor_id):
        raise DomainError(E.NOT_FOUND, "No such subscription.", field="id")
    subscription.delete()


def webhook_subscription_test_send(*, actor, subscription: WebhookSubscription) -> Delivery:
    """Send a `webhook.test` event to this subscription now (outside any transaction) and return its delivery."""
    if not _may_manage_subscriptions(actor, subscription.vendor_id):
        raise DomainError(E.NOT_FOUND, "No such subscription.", field="id")
    with transaction.atomic():
        event = Event.objects.create(name="webhook.test", vendor_id=subscription.vendor_id,
                                     payload={"subscription": subscription.pk})
        delivery = Delivery.objects.create(
            event=event, channel=Channel.WEBHOOK, subscription=subscription, to=subscription.url,
            next_attempt_at=timezone.now(),
        )
    delivery_send(delivery_id=delivery.pk)
    return Delivery.objects.get(pk=delivery.pk)


# --- Favourites ------------------------------------------------------------------------


def favourite_add(*, actor, product=None, vendor=None) -> Favourite:
    """Save a product or a store (one of them); saving it again changes nothing."""
    require_authenticated(actor, E.PERMISSION_DENIED)
    if (product is None) == (vendor is None):
        raise DomainError(E.REQUIRED, "Give a product or a store.", field="product")
    lookup = {"product": product} if product is not None else {"vendor": vendor}
    try:
        with transaction.atomic():
            favourite, _created = Favourite.objects.get_or_create(user=actor, **lookup)
    except IntegrityError:  # a concurrent request saved it
        favourite = Favourite.objects.get(user=actor, **lookup)
    return favourite


def favourite_remove(*, actor, product=None, vendor=None) -> bool:
    require_authenticated(actor, E.PERMISSION_DENIED)
    if (product is None) == (vendor is None):
        raise DomainError(E.REQUIRED, "Give a product or a store.", field="product")
    lookup = {"product": product} if product is not None else {"vendor": vendor}
    deleted, _ = Favourite.objects.filter(user=actor, **lookup).delete()
    return bool(deleted)


# --- Restock alerts and low stock ------------------------------------------------------


def restock_alert_subscribe(*, actor, variant) -> RestockAlert:
    require_authenticated(actor, E.PERMISSION_DENIED)
    if variant.stock > 0:
        raise DomainError(E.IN_STOCK, "This variant is in stock.", field="variant")
    try:
        with transaction.atomic():
            alert, _created = RestockAlert.objects.get_or_create(user=actor, variant=variant, fired_at=None)
    except IntegrityError:
        alert = RestockAlert.objects.get(user=actor, variant=variant, fired_at=None)
    return alert


def restock_alert_unsubscribe(*, actor, variant) -> bool:
    require_authenticated(actor, E.PERMISSION_DENIED)
    deleted, _ = RestockAlert.objects.filter(user=actor, variant=variant, fired_at__isnull=True).delete()
    return bool(deleted)


def restock_check(variant_ids: Iterable[int]) -> int:
    """Stock of these variants may have come back: fire their waiting alerts, once each (caller's transaction).
    A listing off the storefront (delisted, its store suspended) keeps its alerts waiting: they fire
    when it is published again with stock (product_approve checks them)."""
    from backend.catalog.selectors import storefront_products

    ids = set(variant_ids)
    if not ids:
        return 0
    # Most stock comes back with nobody waiting for it: one cheap look first.
    if not RestockAlert.objects.filter(variant_id__in=ids, fired_at__isnull=True).exists():
        return 0
    alerts = list(
        RestockAlert.objects.select_for_update(of=("self",))
        .filter(variant_id__in=ids, fired_at__isnull=True, variant__stock__gt=0)
        .filter(variant__product__in=storefront_products())
        .select_related("variant__product")
        .order_by("pk")
    )
    if not alerts:
        return 0
    RestockAlert.objects.filter(pk__in=[a.pk for a in alerts]).update(fired_at=timezone.now())
    notify("restock.available", alerts=alerts)
    return len(alerts)


def low_stock_check(taken: dict) -> None:
    """After stock was taken ({variant: quantity}, variants with their product): tell the store about
    variants that just fell to NOTIFICATIONS_LOW_STOCK_LEVEL or below."""
    level = settings.NOTIFICATIONS_LOW_STOCK_LEVEL
    crossed = [v for v, quantity in taken.items() if v.stock <= level < v.stock + quantity]
    if crossed:
        notify("stock.low", variants=crossed)
