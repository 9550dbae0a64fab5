"""Every event the platform tells people about: who is told, what the message says, what a webhook gets.

Each event has a builder that turns what the domain service passed to `notify` into notices
(recipients, the template's values, the webhook data, an optional once-only key). Builders read
in bulk, so a batch (the periodic release of thousands of orders) costs a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from graphql_relay import to_global_id


@dataclass
class Notice:
    users: list[int]
    vendor_id: int | None
    params: dict
    data: dict
    key: str | None = None
    # Recipients with no account (a guest order's email), as (address, language): email only,
    # no inbox, no preferences; their templates get `guest` (True) and `guest_params` as well.
    emails: list[tuple[str, str]] = field(default_factory=list)
    guest_params: dict = field(default_factory=dict)
    # The guests' template if not the event's own (order.paid: the merchant's news, a guest's receipt).
    guest_template: str | None = None


@dataclass(frozen=True)
class EventSpec:
    name: str
    description: str
    build: Callable[..., list[Notice]]
    # A reminder of a deadline that moves money (automatic receipt confirmation, an automatic
    # dispute ruling, a suspension for an unpaid deposit): switching it off needs a confirmation.
    money_deadline: bool = False
    # Sent to the users' email and inbox (False: webhooks only).
    to_users: bool = True


def vendor_staff_ids(vendor_ids: Iterable[int]) -> dict[int, list[int]]:
    from backend.vendors.models import VendorStaff

    staff: dict[int, list[int]] = defaultdict(list)
    for vendor_id, user_id in VendorStaff.objects.filter(vendor_id__in=set(vendor_ids)).values_list("vendor_id", "user_id"):
        staff[vendor_id].append(user_id)
    return staff


def _money(amount, currency) -> dict:
    return {"amount": str(amount), "currency": str(currency)}


# --- Vendor applications ---------------------------------------------------------------


def _application(*, application) -> list[Notice]:
    return [
        Notice(
            users=[application.applicant_id],
            vendor_id=None,
            params={"store": application.store_name, "reason": application.decision_reason},
            data={"application": to_global_id("VendorApplication", application.pk), "status": application.status,
                  "reason": application.decision_reason},
        )
    ]


# --- Listings --------------------------------------------------------------------------


def _listing(*, product, reason: str = "") -> list[Notice]:
    return [
        Notice(
            users=vendor_staff_ids([product.vendor_id]).get(product.vendor_id, []),
            vendor_id=product.vendor_id,
            params={"product": product.name, "reason": reason},
            data={"product": to_global_id("Product", product.pk), "name": product.name, "reason": reason},
        )
    ]


def _enrolment(*, enrolment) -> list[Notice]:
    """A store's campaign enrolment was reviewed: its staff are told (with the reason of a rejection)."""
    variant = enrolment.variant
    name = variant.product.name
    price = f"{enrolment.price_amount} {enrolment.currency}"
    return [
        Notice(
            users=vendor_staff_ids([enrolment.vendor_id]).get(enrolment.vendor_id, []),
            vendor_id=enrolment.vendor_id,
            params={"campaign": enrolment.campaign.name, "product": name, "sku": variant.sku, "price": price,
                    "reason": enrolment.reason},
            data={"enrolment": to_global_id("CampaignEnrolment", enrolment.pk),
                  "campaign": to_global_id("Campaign", enrolment.campaign_id), "name": enrolment.campaign.name,
                  "reason": enrolment.reason},
        )
    ]


# --- Orders ----------------------------------------------------------------------------


def _order_data(order) -> dict:
    return {
        "order": to_global_id("Order", order.pk),
        "number": str(order.pk),
        "status": str(order.status),
        "total": _money(order.total_amount, order.currency),
    }


def guest_language(code: str | None) -> str:
    """The language a guest's order mails are written in: the checkout's, else the platform's."""
    codes = {c for c, _label in settings.LANGUAGES}
    return code if code in codes else settings.LANGUAGE_CODE


# What a guest's mail needs of the order besides what the event reads.
_SHOPPER_FIELDS = ("user_id", "email", "language_code", "checkout_token")


def _orders(
    orders, *, merchant: bool, shopper: bool, event: str, key: Callable | None = None, guest: bool = False,
    guest_template: str | None = None,
) -> list[Notice]:
    """shopper: the order's user is told, or, with no user (a guest's order), its email;
    guest: only a guest's order's email is told (the shopper's part of a merchant event)."""
    orders = list(orders)
    staff = vendor_staff_ids(o.vendor_id for o in orders) if merchant else {}
    shoppers: dict[int, dict] = {}
    if shopper or guest:
        # A batch may come with only some fields loaded: the shoppers in one query, not one each.
        deferred = [o.pk for o in orders if o.get_deferred_fields() & set(_SHOPPER_FIELDS)]
        if deferred:
            rows = type(orders[0]).objects.filter(pk__in=deferred).values("pk", *_SHOPPER_FIELDS)
            shoppers = {row["pk"]: row for row in rows}
    notices = []
    for order in orders:
        users = list(staff.get(order.vendor_id, [])) if merchant else []
        emails, guest_params = [], {}
        if shopper or guest:
            who = shoppers.get(order.pk) or {f: getattr(order, f) for f in _SHOPPER_FIELDS}
            if who["user_id"]:
                if shopper:
                    users.append(who["user_id"])
            elif who["email"]:
                emails.append((who["email"], guest_language(who["language_code"])))
                # The guest's handle on the storefront: checkout(id:) { orders { ... } }.
                guest_params = {"checkout": to_global_id("Checkout", str(who["checkout_token"]))}
        notices.append(
            Notice(
                users=users,
                vendor_id=order.vendor_id,
                params={"number": str(order.pk), "total": f"{order.total_amount} {order.currency}",
                        "deadline": getattr(order, "auto_confirm_at", None)},
                data=_order_data(order),
                key=key(order) if key else f"{event}:{order.pk}",
                emails=emails,
                guest_params=guest_params,
                guest_template=guest_template,
            )
        )
    return notices


def _order_event(event: str, *, merchant: bool, shopper: bool, guest: bool = False, guest_template: str | None = None):
    def build(*, order=None, orders=()):
        return _orders([order] if order is not None else orders, merchant=merchant, shopper=shopper, event=event,
                       guest=guest, guest_template=guest_template)

    return build


def _confirmation_due(*, order) -> list[Notice]:
    return _orders(
        [order], merchant=False, shopper=True, event="order.confirmation_due",
        key=lambda o: f"order.confirmation_due:{o.pk}:{o.auto_confirm_at.isoformat()}",
    )


# --- Disputes --------------------------------------------------------------------------

# Who must act before a dispute's deadline in each state (both parties otherwise).
_DEADLINE_SIDE = {
    "awaiting_vendor": "vendor",
    "return_shipped": "vendor",
    "awaiting_buyer": "shopper",
    "awaiting_return": "shopper",
}


def _dispute(*, dispute, shopper: bool = True, merchant: bool = True, reminder: bool = False) -> list[Notice]:
    if reminder:
        side = _DEADLINE_SIDE.get(dispute.status)
        shopper, merchant = side in (None, "shopper"), side in (None, "vendor")
    users = list(vendor_staff_ids([dispute.vendor_id]).get(dispute.vendor_id, [])) if merchant else []
    if shopper and dispute.opened_by_id:
        users.append(dispute.opened_by_id)
    data = {
        "dispute": to_global_id("Dispute", dispute.pk),
        "order": to_global_id("Order", dispute.order_id),
        "status": str(dispute.status),
        "deadline": dispute.deadline_at.isoformat() if dispute.deadline_at else None,
        "requested": _money(dispute.requested_amount, dispute.currency),
        "ruling": dispute.ruling_outcome or None,
    }
    key = None
    if reminder:
        key = f"dispute.deadline_due:{dispute.pk}:{dispute.status}:{dispute.deadline_at.isoformat()}"
    return [
        Notice(
            users=users,
            vendor_id=dispute.vendor_id,
            params={"number": str(dispute.order_id), "dispute": str(dispute.pk), "deadline": dispute.deadline_at,
                    "status": dispute.get_status_display(), "ruling": dispute.ruling_outcome or ""},
            data=data,
            key=key,
        )
    ]


def _dispute_event(*, shopper: bool, merchant: bool):
    return lambda *, dispute: _dispute(dispute=dispute, shopper=shopper, merchant=merchant)


# --- Money of the stores ---------------------------------------------------------------


def _deposit_short(*, vendor, deadline, reasons: list[str]) -> list[Notice]:
    return [
        Notice(
            users=vendor_staff_ids([vendor.pk]).get(vendor.pk, []),
            vendor_id=vendor.pk,
            params={"store": vendor.name, "deadline": deadline},
            data={"vendor": to_global_id("Vendor", vendor.pk), "deadline": deadline.isoformat(), "reasons": list(reasons)},
        )
    ]


def _restriction_deadline(*, restriction) -> list[Notice]:
    vendor = restriction.vendor
    notices = _deposit_short(vendor=vendor, deadline=restriction.deadline, reasons=restriction.reasons or [])
    notices[0].key = f"vendor.restriction_deadline_due:{restriction.pk}:{restriction.deadline.isoformat()}"
    return notices


def _payout(event: str):
    def build(*, payout_ref, vendor, amount) -> list[Notice]:
        vendor_id = int(getattr(vendor, "pk", vendor))
        return [
            Notice(
                users=vendor_staff_ids([vendor_id]).get(vendor_id, []),
                vendor_id=vendor_id,
                params={"amount": f"{amount.amount} {amount.currency}", "payout": str(payout_ref)},
                data={"reference": str(payout_ref), "amount": _money(amount.amount, amount.currency)},
                key=f"{event}:{payout_ref}",
            )
        ]

    return build


# --- Stock -----------------------------------------------------------------------------


def _low_stock(*, variants) -> list[Notice]:
    variants = list(variants)
    staff = vendor_staff_ids(v.product.vendor_id for v in variants)
    return [
        Notice(
            users=staff.get(v.product.vendor_id, []),
            vendor_id=v.product.vendor_id,
            params={"product": v.product.name, "sku": v.sku, "stock": v.stock},
            data={"variant": to_global_id("ProductVariant", v.pk), "sku": v.sku, "stock": v.stock},
        )
        for v in variants
    ]


def _restock(*, alerts) -> list[Notice]:
    return [
        Notice(
            users=[alert.user_id],
            vendor_id=None,  # which shopper waits for what is nobody's business but the platform's
            params={"product": alert.variant.product.name, "sku": alert.variant.sku, "slug": alert.variant.product.slug},
            data={"variant": to_global_id("ProductVariant", alert.variant_id), "product": alert.variant.product.slug},
            key=f"restock.available:{alert.pk}",
        )
        for alert in alerts
    ]


def _points_expiring(*, warnings) -> list[Notice]:
    return [
        Notice(
            users=[w["user_id"]],
            vendor_id=None,
            params={"points": w["points"], "date": w["expires_at"].date().isoformat()},
            data={"points": w["points"], "expiresAt": w["expires_at"].isoformat()},
            key=w["key"],
        )
        for w in warnings
    ]
def _group_notice(order, group, event: str, key: str) -> Notice:
    deal = group.deal
    return Notice(
        users=[order.user_id] if order.user_id else [],
        vendor_id=order.vendor_id,
        params={"number": str(order.pk), "deal": deal.name or deal.variant.product.name, "size": deal.group_size,
                "total": f"{order.total_amount} {order.currency}"},
        data={**_order_data(order), "group": group.pk, "deal": deal.pk, "group_status": str(group.status)},
        key=key,
    )


def _group_filled(*, group, orders) -> list[Notice]:
    return [_group_notice(order, group, "group.filled", f"group.filled:{order.pk}") for order in orders]


def _group_failed(*, member, order) -> list[Notice]:
    return [_group_notice(order, member.group, "group.failed", f"group.failed:{member.pk}")]


def _webhook_test(*, subscription) -> list[Notice]:
    return [Notice(users=[], vendor_id=subscription.vendor_id, params={}, data={"subscription": subscription.pk})]


_SPECS = [
    EventSpec("vendor_application.approved", "Your store application was approved.", _application),
    EventSpec("vendor_application.rejected", "Your store application was rejected.", _application),
    EventSpec("vendor_application.info_requested", "Staff ask for more information on your application.", _application),
    EventSpec("listing.approved", "A listing passed review and is live.", _listing),
    EventSpec("listing.rejected", "A listing was rejected in review.", _listing),
    EventSpec("campaign.enrolment_approved", "A campaign enrolment passed review (merchant).", _enrolment),
    EventSpec("campaign.enrolment_rejected", "A campaign enrolment was rejected in review (merchant).", _enrolment),
    EventSpec("order.placed", "A new order for your store (merchant).", _order_event("order.placed", merchant=True, shopper=False)),
    # A guest (no account, no order list to look at) gets a receipt with the order's number and handle.
    EventSpec("order.paid", "An order was paid and is ready to ship (merchant).",
              _order_event("order.paid", merchant=True, shopper=False, guest=True, guest_template="order.paid.guest")),
    EventSpec("order.shipped", "Your order was shipped.", _order_event("order.shipped", merchant=False, shopper=True)),
    EventSpec("order.delivered", "Your order was delivered.", _order_event("order.delivered", merchant=False, shopper=True)),
    EventSpec("order.confirmation_due", "Receipt is confirmed automatically within 24 hours.", _confirmation_due, money_deadline=True),
    EventSpec("order.completed", "An order completed and its money was released.", _order_event("order.completed", merchant=True, shopper=True)),
    EventSpec("dispute.opened", "A shopper opened a dispute (merchant).", _dispute_event(shopper=False, merchant=True)),
    EventSpec("dispute.answered", "The store answered your dispute.", _dispute_event(shopper=True, merchant=False)),
    EventSpec("dispute.escalated", "A dispute went to platform arbitration.", _dispute_event(shopper=True, merchant=True)),
    EventSpec("dispute.ruled", "A dispute was ruled on.", _dispute_event(shopper=True, merchant=True)),
    EventSpec("dispute.deadline_due", "A dispute's deadline passes within 24 hours.",
              lambda *, dispute: _dispute(dispute=dispute, reminder=True), money_deadline=True),
    EventSpec("vendor.deposit_short", "Fee or deposit short: the store is restricted until it pays.", _deposit_short),
    EventSpec("vendor.restriction_deadline_due", "The store is suspended within 24 hours unless it pays.",
              _restriction_deadline, money_deadline=True),
    EventSpec("payout.sent", "A payout was sent.", _payout("payout.sent")),
    EventSpec("payout.failed", "A payout failed; the money is back in the available balance.", _payout("payout.failed")),
    EventSpec("group.filled", "Your group filled: your order goes ahead.", _group_filled),
    EventSpec("group.failed", "Your group did not fill in time: your order is cancelled and refunded.", _group_failed),
    EventSpec("stock.low", "A variant's stock fell to the low-stock level.", _low_stock),
    EventSpec("restock.available", "A variant you wait for is back in stock.", _restock),
    EventSpec("points.expiring", "Some of your points expire soon.", _points_expiring),
    EventSpec("webhook.test", "A test delivery (webhookSubscriptionTestSend).", _webhook_test, to_users=False),
]

EVENTS: dict[str, EventSpec] = {spec.name: spec for spec in _SPECS}

# What domain services pass for a dispute's move (its audit action) -> the event, if any.
DISPUTE_ACTIONS = {
    "open": "dispute.opened",
    "vendor_accept": "dispute.answered",
    "vendor_reject": "dispute.answered",
    "escalate": "dispute.escalated",
    "deadline_escalate": "dispute.escalated",
    "resolve": "dispute.ruled",
    "deadline_refund": "dispute.ruled",
    "deadline_reject": "dispute.ruled",
}

# Events a user may get (webhook-only ones excluded), for preferences.
USER_EVENTS = [spec.name for spec in _SPECS if spec.to_users]
