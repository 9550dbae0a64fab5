"""Disputes: opening, the parties' answers, escalation, the return leg, staff rulings,
deadlines, and the money each outcome moves.

Every change happens under a row lock on the dispute (and, for money, on its
order) and goes through DISPUTE_STATUS; every refund and penalty is a ledger
movement whose idempotency key is derived from the dispute, so a retried
request or a second run of the deadline task moves nothing twice. Decisions go
to the audit log in the same transaction.

Refunds go through the orders domain (backend.orders.services.order_refund), the
one place money goes back to a shopper.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backend.core.audit import audit_log
from backend.notifications.services import notify_dispute
from backend.core.exceptions import DomainError
from backend.core.media import StagedFiles, delete_files_on_commit, run_after_commit, store_original, store_renditions
from backend.core.storage import private_storage
from backend.core.money import Money, amount_from_input
from backend.core.periodic import record_processed
from backend.core.permissions import PlatformPermission, require_authenticated, require_permission
from backend.core.uploads import CheckedFile, check_image, render_sizes
from backend.finance import services as ledger
from backend.finance.ledger import vendor_balance
from backend.logistics import services as logistics
from backend.logistics.models import Shipment
from backend.orders import services as orders
from backend.orders.models import Order, OrderRefundStatus, OrderStatus
from backend.orders.selectors import vendor_shipping_origin
from plugins.arbitration.interface import Outcome, Ruling
from plugins.logistics.interface import ShipmentRequest
from plugins.manager import PluginsManager, get_plugins_manager

from . import policy
from .files import EVIDENCE_SIZES
from .error_codes import DisputeErrorCode as E
from .models import (
    ACTIVE_STATUSES,
    Dispute,
    DisputeEvidence,
    EvidenceStatus,
    DisputeKind,
    DisputeLine,
    DisputeMessage,
    DisputeReason,
    DisputeStatus,
    MessageRole,
    RulingOutcome,
    RulingSource,
)
from .selectors import dispute_roles
from .state_machines import DISPUTE_STATUS

logger = logging.getLogger(__name__)
S = DisputeStatus

# Who may escalate a dispute from which state.
ESCALATE_FROM = {
    MessageRole.SHOPPER: {S.AWAITING_BUYER},
    # A vendor who finds the returned goods not as sent.
    MessageRole.VENDOR: {S.RETURN_SHIPPED},
    MessageRole.STAFF: {S.AWAITING_VENDOR, S.AWAITING_BUYER, S.AWAITING_RETURN, S.RETURN_SHIPPED},
}


@dataclass(frozen=True)
class LineInput:
    order_line_id: int
    quantity: int


# --- Helpers -------------------------------------------------------------------------


def _foreign(error: DomainError, default: E = E.INVALID) -> DomainError:
    """Another domain's error in dispute codes (same name when we have it)."""
    return orders.translate_error(error, E, default)


def _locked(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("order", "return_shipment", "vendor")
        .get(pk=dispute.pk)
    )


def _require_role(actor, dispute: Dispute, *allowed: str) -> str:
    """The first of `allowed` the actor plays; NOT_FOUND for outsiders, PERMISSION_DENIED for the wrong side."""
    roles = dispute_roles(actor, dispute)
    if not roles:
        raise DomainError(E.NOT_FOUND, "No such dispute.", field="id")
    for role in allowed:
        if role in roles:
            return role
    raise DomainError(E.PERMISSION_DENIED, "This side of the dispute cannot do that.", field="id")


def _require_status(dispute: Dispute, *statuses: str, action: str) -> None:
    if dispute.status not in statuses:
        raise DomainError(
            E.INVALID_TRANSITION, f"A dispute that is {dispute.status} cannot be {action}.", field="status"
        )


def _amount(value, currency: str, field: str) -> Money | None:
    if value is None or value == "":
        return None
    amount = amount_from_input(value, error_code=E.INVALID, field=field, currency=currency)
    if amount <= 0:
        raise DomainError(E.INVALID, "The amount must be positive.", field=field)
    return Money(amount, currency)


def check_evidence(evidence: Iterable | None, *, field: str = "evidence") -> list[CheckedFile]:
    """Check evidence pictures by content before any transaction starts."""
    uploads = [upload for upload in evidence or () if upload]
    if len(uploads) > settings.DISPUTE_MAX_EVIDENCE_IMAGES:
        raise DomainError(
            E.TOO_MANY_FILES, f"At most {settings.DISPUTE_MAX_EVIDENCE_IMAGES} pictures per message.", field=field
        )
    return [check_image(upload, field=field, use="evidence") for upload in uploads]


def _add_message(
    dispute: Dispute, *, author, role: str, body: str, evidence: Sequence[CheckedFile], staged: StagedFiles | None
) -> DisputeMessage:
    message = DisputeMessage.objects.create(dispute=dispute, author=author, role=role, body=(body or "").strip())
    for checked in evidence:
        # Re-encoding is the costly part of an upload, so the renditions are made in the worker
        # (dispute_evidence_render, queued after commit) like listing images and store logos. The
        # upload is kept as it came, in private storage, until then, and the evidence is PROCESSING:
        # only its uploader gets a link to that original (their own picture, nothing they do not
        # have); the other party and staff get no link at all until the rendition exists, so the
        # original's EXIF (GPS position, camera serial) never reaches them. Stripping the metadata
        # in the request instead would mean rewriting each format's containers by hand (JPEG APP
        # segments, PNG text chunks, WebP RIFF chunks, bytes after the end marker) and still hand
        # out the uploader's own file; a rendition is decoded and re-encoded, so it carries nothing.
        # Evidence is shown only to the dispute's parties and staff: the store keeps it in unguessable folders.
        original = store_original(staged, prefix=f"disputes/{dispute.pk}", checked=checked)
        item = DisputeEvidence.objects.create(
            message=message,
            uploaded_by=author,
            status=EvidenceStatus.PROCESSING,
            original=original,
            renditions={},
            width=checked.width,
            height=checked.height,
            sha256=checked.sha256,
        )
        from . import tasks

        run_after_commit(tasks.evidence_render, item.pk)
    return message


def dispute_evidence_render(*, evidence_id: int) -> bool:
    """Make the renditions of an evidence picture (in the worker), then delete the original.
    False when there is nothing to do: already rendered, or removed. Safe to run twice at once."""
    evidence = DisputeEvidence.objects.filter(pk=evidence_id, status=EvidenceStatus.PROCESSING).first()
    if evidence is None or not evidence.original:
        return False
    storage = private_storage()
    try:
        with storage.open(evidence.original, "rb") as handle:
            checked = check_image(handle, field="evidence", use="evidence")
    except FileNotFoundError:
        return False
    renditions = render_sizes(checked, EVIDENCE_SIZES)
    with transaction.atomic(), StagedFiles(storage) as staged:
        evidence = DisputeEvidence.objects.select_for_update().filter(pk=evidence_id).first()
        if evidence is None or evidence.status != EvidenceStatus.PROCESSING:
            return False  # another run got there first; its renditions stand
        original = evidence.original
        evidence.renditions = store_renditions(
            staged, prefix=f"disputes/{evidence.message.dispute_id}", renditions=renditions
        )
        evidence.status, evidence.original = EvidenceStatus.READY, ""
        evidence.save(update_fields=["renditions", "status", "original"])
        delete_files_on_commit([original], storage=storage)
    record_processed("evidence", evidence_id)
    return True


def disputes_render_pending_evidence(*, now: datetime | None = None) -> int:
    """Render evidence still PROCESSING after settings.DISPUTE_EVIDENCE_RENDER_RETRY_AFTER seconds
    (a lost task, a worker killed mid-way); returns how many were rendered now."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DISPUTE_EVIDENCE_RENDER_RETRY_AFTER)
    pending = DisputeEvidence.objects.filter(status=EvidenceStatus.PROCESSING, created_at__lte=cutoff)
    done = 0
    for evidence_id in pending.order_by("id").values_list("id", flat=True)[:500]:
        try:
            done += dispute_evidence_render(evidence_id=evidence_id)
        except DomainError:
            logger.warning("Evidence %s cannot be rendered: its original is not a readable image.", evidence_id)
    return done


def _move(
    dispute: Dispute,
    target: str,
    *,
    actor,
    action: str,
    manager: PluginsManager | None,
    reason: str = "",
    update_fields: Iterable[str] = (),
    now: datetime | None = None,
    **data,
) -> Dispute:
    """Change status (through the machine), set the policy's deadline for the new state (counted from
    `now`, the deadline task's clock), write the audit entry and give the order's money back to the
    normal release when the dispute ends."""
    now = now or timezone.now()
    was_active = dispute.is_active
    DISPUTE_STATUS.check(dispute.status, target)
    dispute.status_changed_at = now
    dispute.deadline_at = None if target == S.CLOSED else policy.deadline_for(dispute, target, now=now, manager=manager)
    if target == S.CLOSED:
        dispute.closed_at = now
    DISPUTE_STATUS.apply(
        dispute, target, update_fields=["status_changed_at", "deadline_at", "closed_at", *update_fields]
    )
    audit_log(
        actor=actor,
        action=f"dispute.{action}",
        target=dispute,
        reason=reason,
        status=target,
        deadline=dispute.deadline_at.isoformat() if dispute.deadline_at else None,
        **data,
    )
    if was_active and not dispute.is_active:
        _end_hold(dispute)
    notify_dispute(dispute, action)
    return dispute


def _end_hold(dispute: Dispute) -> None:
    """The dispute is over: unless everything was refunded, the order's money is released as usual."""
    order = Order.objects.get(pk=dispute.order_id)
    if order.refunded_amount < order.total_amount:
        orders.order_release_unfreeze(order=order)


def _rule(dispute: Dispute, *, outcome: str, amount: Money | None, source: str, note: str, actor) -> None:
    dispute.ruling_outcome = outcome
    dispute.ruling_amount = None if amount is None else amount.amount
    dispute.ruling_source = source
    dispute.ruling_note = note or ""
    dispute.ruled_by = actor if source == RulingSource.STAFF else None
    dispute.ruled_at = timezone.now()
    dispute.save(
        update_fields=["ruling_outcome", "ruling_amount", "ruling_source", "ruling_note", "ruled_by", "ruled_at", "updated_at"]
    )


RULING_FIELDS = ("ruling_outcome", "ruling_amount", "ruling_source", "ruling_note", "ruled_by", "ruled_at")


# --- Money ---------------------------------------------------------------------------


def _refund_key(dispute: Dispute) -> str:
    return f"dispute:{dispute.pk}:refund"


def _refund_attempts(dispute: Dispute) -> list:
    """The dispute's refunds claimed so far, oldest first: under its key, then (after the gateway
    refused one) under the key with the attempt's number."""
    from backend.orders.models import OrderRefund

    key = _refund_key(dispute)
    return [
        record
        for record in OrderRefund.objects.filter(order_id=dispute.order_id, idempotency_key__startswith=key)
        .select_related("payment_refund").order_by("pk")
        if record.idempotency_key == key or record.idempotency_key.startswith(f"{key}:")
    ]


def _live_refund(attempts: list):
    """The attempt that is not refused (claimed, or taken by the gateway), if any: at most one."""
    from backend.orders.models import OrderRefundStatus

    return next((record for record in attempts if record.status != OrderRefundStatus.FAILED), None)


def _next_refund_key(dispute: Dispute, attempts: list) -> str:
    return _refund_key(dispute) if not attempts else f"{_refund_key(dispute)}:{len(attempts) + 1}"


def _refund(dispute: Dispute, amount: Money, *, actor, manager: PluginsManager | None) -> Money:
    """Give the shopper `amount` back for this dispute, once (at most what is left on the order).

    The money moves through the orders domain's order_refund: out of escrow before
    release, from the vendor with the commission returned pro rata after it. A refund the
    deadline task claimed and finished already (or claimed only: it is finished now, under
    its key) is the dispute's refund; after a refused one the next attempt has a key of its own.
    """
    order = Order.objects.select_for_update(of=("self",)).get(pk=dispute.order_id)
    attempts = _refund_attempts(dispute)
    live = _live_refund(attempts)
    if live is not None:
        key, amount = live.idempotency_key, live.money
    else:
        key = _next_refund_key(dispute, attempts)
        remaining = order.total - order.refunded
        if amount.amount > remaining.amount:
            amount = remaining
        if amount.amount <= 0:
            return order.money(0)
    if order.payment_id is None:
        raise DomainError(E.NOTHING_TO_REFUND, "The order has no payment to refund.")
    try:
        refund = orders.order_refund(
            order=order, amount=amount, idempotency_key=key, actor=actor,
            manager=manager, reason=f"Dispute {dispute.pk}",
        )
    except DomainError as error:
        raise _foreign(error, E.REFUND_FAILED) from error
    dispute.refunded_amount = refund.amount
    dispute.refunded_after_release = refund.after_release
    dispute.commission_returned_amount = refund.commission_returned_amount
    dispute.refunded_at = refund.created_at
    dispute.save(
        update_fields=["refunded_amount", "refunded_after_release", "commission_returned_amount", "refunded_at", "updated_at"]
    )
    return refund.money


def _penalty(dispute: Dispute, amount: Money, *, to_buyer: bool, reason: str, actor, cap: bool) -> Money | None:
    """Take a penalty from the vendor's deposit: to the shopper as compensation, or to the platform.

    An automatic penalty (cap=True) takes at most what the deposit holds; staff's
    explicit penalty larger than the deposit is refused (INSUFFICIENT_FUNDS).
    """
    if cap:
        held = vendor_balance(dispute.vendor_id).deposit
        if held.amount < amount.amount:
            amount = Money(held.amount, amount.currency)
    if amount.amount <= 0:
        return None
    try:
        ledger.deposit_deduct(
            ref=f"dispute:{dispute.pk}:penalty",
            vendor=dispute.vendor_id,
            amount=amount,
            buyer=dispute.order.user_id,
            to_buyer=to_buyer,
            reason=reason or f"Dispute {dispute.pk}",
        )
    except DomainError as error:
        raise _foreign(error, E.INSUFFICIENT_FUNDS) from error
    dispute.deposit_penalty_amount = amount.amount
    dispute.deposit_penalty_to_buyer = to_buyer
    dispute.save(update_fields=["deposit_penalty_amount", "deposit_penalty_to_buyer", "updated_at"])
    audit_log(
        actor=actor,
        action="dispute.deposit_penalty",
        target=dispute,
        reason=reason,
        amount=str(amount.amount),
        to_buyer=to_buyer,
    )
    return amount


def _grant(
    dispute: Dispute, amount: Money, *, actor, manager: PluginsManager | None, action: str, now=None, **data
) -> Dispute:
    """A refund was granted: goods still with the shopper on a return go back first; otherwise refund now."""
    if dispute.kind == DisputeKind.RETURN_AND_REFUND and dispute.return_shipment_id is None:
        return _move(dispute, S.AWAITING_RETURN, actor=actor, action=action, manager=manager, now=now,
                     granted=str(amount.amount), **data)
    refunded = _refund(dispute, amount, actor=actor, manager=manager)
    return _move(dispute, S.RESOLVED, actor=actor, action=action, manager=manager, now=now,
                 refunded=str(refunded.amount), **data)


def _granted_amount(dispute: Dispute, outcome: str, amount: Money | None) -> Money:
    if outcome == Outcome.REFUND_FULL or amount is None:
        amount = dispute.requested
    return amount if amount.amount <= dispute.refundable_amount else dispute.refundable


# --- Opening -------------------------------------------------------------------------


def _window_open(order: Order, now: datetime) -> None:
    if order.paid_at is None or order.status in (OrderStatus.UNPAID, OrderStatus.CANCELLED):
        raise DomainError(E.ORDER_NOT_PAID, "Only a paid order can be disputed.", field="order")
    if order.status == OrderStatus.REFUNDED or order.refunded_amount >= order.total_amount:
        raise DomainError(E.NOTHING_TO_REFUND, "This order was refunded in full.", field="order")
    if order.completed_at is not None:
        closes = order.completed_at + timedelta(days=settings.DISPUTE_WINDOW_DAYS_AFTER_COMPLETION)
        if now > closes:
            raise DomainError(
                E.DISPUTE_WINDOW_CLOSED,
                f"Disputes can be opened until {settings.DISPUTE_WINDOW_DAYS_AFTER_COMPLETION} days after completion.",
                field="order",
            )


def _no_reason_return_allowed(order: Order, lines: list[tuple], now: datetime) -> None:
    delivered = order.delivered_at or order.completed_at
    if delivered is None:
        raise DomainError(
            E.NO_REASON_RETURN_NOT_ALLOWED, "A return without a reason starts once the goods arrived.", field="reason"
        )
    if now > delivered + timedelta(days=settings.DISPUTE_NO_REASON_RETURN_DAYS):
        raise DomainError(
            E.NO_REASON_RETURN_NOT_ALLOWED,
            f"Returns without a reason are possible for {settings.DISPUTE_NO_REASON_RETURN_DAYS} days after delivery.",
            field="reason",
        )
    refused = [line.product_name for line, _ in lines if line.category is None or not line.category.allows_no_reason_return]
    if refused:
        raise DomainError(
            E.NO_REASON_RETURN_NOT_ALLOWED,
            f"Goods of this category cannot be returned without a reason: {', '.join(refused)}.",
            field="lines",
        )


def _chosen_lines(order: Order, wanted: Sequence[LineInput] | None) -> list[tuple]:
    """(order line, quantity) pairs: the lines asked for, or all of them."""
    order_lines = {line.pk: line for line in order.lines.select_related("category")}
    if not wanted:
        return [(line, line.quantity) for line in order_lines.values()]
    chosen, seen = [], set()
    for item in wanted:
        line = order_lines.get(int(item.order_line_id))
        if line is None or line.pk in seen:
            raise DomainError(E.NOT_FOUND, "Each line must be one of this order's lines, once.", field="lines")
        if not 1 <= int(item.quantity) <= line.quantity:
            raise DomainError(E.INVALID, f"Between 1 and {line.quantity} of {line.product_name}.", field="lines")
        seen.add(line.pk)
        chosen.append((line, int(item.quantity)))
    return chosen


def refundable_for(order: Order, lines: list[tuple]) -> Money:
    """What the lines cost plus their share of shipping, at most what is still unrefunded on the order."""
    goods = sum((line.unit_price_amount * quantity for line, quantity in lines), Decimal(0))
    if order.subtotal_amount > 0:
        shipping = order.shipping_amount * goods / order.subtotal_amount
    else:
        shipping = order.shipping_amount
    cap = order.money(goods + shipping)
    remaining = order.total - order.refunded
    return cap if cap.amount <= remaining.amount else remaining


def dispute_open(
    *,
    actor,
    order: Order,
    reason: str,
    description: str,
    requested_amount,
    kind: str | None = None,
    lines: Sequence[LineInput] | None = None,
    evidence: Iterable | None = None,
    manager: PluginsManager | None = None,
) -> Dispute:
    """The shopper disputes a paid order (or some of its lines): the order's release is frozen
    and the vendor has until the policy's deadline to answer."""
    require_authenticated(actor, E.PERMISSION_DENIED)
    if reason not in DisputeReason.values:
        raise DomainError(E.INVALID, "Unknown reason.", field="reason")
    kind = kind or (DisputeKind.RETURN_AND_REFUND if reason == DisputeReason.NO_REASON_RETURN else DisputeKind.REFUND_ONLY)
    if kind not in DisputeKind.values:
        raise DomainError(E.INVALID, "Unknown kind.", field="kind")
    if reason == DisputeReason.NOT_RECEIVED and kind == DisputeKind.RETURN_AND_REFUND:
        raise DomainError(E.INVALID, "Goods that did not arrive cannot be sent back.", field="kind")
    if reason == DisputeReason.NO_REASON_RETURN and kind != DisputeKind.RETURN_AND_REFUND:
        raise DomainError(E.INVALID, "A return without a reason sends the goods back.", field="kind")
    description = (description or "").strip()
    if not description:
        raise DomainError(E.REQUIRED, "Describe the problem.", field="description")
    checked = check_evidence(evidence)
    now = timezone.now()

    with transaction.atomic(), StagedFiles(private_storage()) as staged:
        order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if order.user_id is None or order.user_id != actor.pk:
            raise DomainError(E.NOT_FOUND, "No such order.", field="order")
        _window_open(order, now)
        if Dispute.objects.filter(order_id=order.pk, status__in=ACTIVE_STATUSES).exists():
            raise DomainError(E.DISPUTE_ALREADY_OPEN, "This order already has an open dispute.", field="order")
        chosen = _chosen_lines(order, lines)
        if reason == DisputeReason.NO_REASON_RETURN:
            _no_reason_return_allowed(order, chosen, now)
        amount = _amount(requested_amount, order.currency, "requestedAmount")
        if amount is None:
            raise DomainError(E.REQUIRED, "Say how much you ask back.", field="requestedAmount")
        refundable = refundable_for(order, chosen)
        if amount.amount > refundable.amount:
            raise DomainError(
                E.AMOUNT_TOO_HIGH, f"At most {refundable.amount} {order.currency} for these lines.", field="requestedAmount"
            )
        dispute = Dispute.objects.create(
            order=order,
            vendor_id=order.vendor_id,
            opened_by=actor,
            reason=reason,
            kind=kind,
            description=description,
            currency=order.currency,
            requested_amount=amount.amount,
            refundable_amount=refundable.amount,
            status=S.OPEN,
        )
        DisputeLine.objects.bulk_create(
            [DisputeLine(dispute=dispute, order_line=line, quantity=quantity) for line, quantity in chosen]
        )
        _add_message(dispute, author=actor, role=MessageRole.SHOPPER, body=description, evidence=checked, staged=staged)
        orders.order_release_freeze(order=order, reason=f"Dispute {dispute.pk}")
        _move(
            dispute, S.AWAITING_VENDOR, actor=actor, action="open", manager=manager,
            reason=description, order=order.pk, dispute_reason=reason, kind=kind, requested=str(amount.amount),
        )
    return dispute


# --- The parties ---------------------------------------------------------------------


def dispute_respond(
    *,
    actor,
    dispute: Dispute,
    accept: bool,
    message: str = "",
    evidence: Iterable | None = None,
    manager: PluginsManager | None = None,
) -> Dispute:
    """The vendor accepts (refund as requested; a return first when goods go back) or rejects with its reasons."""
    checked = check_evidence(evidence)
    with transaction.atomic(), StagedFiles(private_storage()) as staged:
        dispute = _locked(dispute)
        _require_role(actor, dispute, MessageRole.VENDOR)
        _require_status(dispute, S.AWAITING_VENDOR, action="answered")
        message = (message or "").strip()
        if not accept and not message:
            raise DomainError(E.REQUIRED, "Say why you reject the claim.", field="message")
        if message or checked:
            _add_message(dispute, author=actor, role=MessageRole.VENDOR, body=message, evidence=checked, staged=staged)
        dispute.vendor_responded_at = timezone.now()
        dispute.save(update_fields=["vendor_responded_at", "updated_at"])
        if accept:
            _rule(dispute, outcome=RulingOutcome.REFUND_FULL, amount=dispute.requested, source=RulingSource.VENDOR,
                  note=message, actor=actor)
            return _grant(dispute, dispute.requested, actor=actor, manager=manager, action="vendor_accept", reason=message)
        return _move(dispute, S.AWAITING_BUYER, actor=actor, action="vendor_reject", manager=manager, reason=message)


def dispute_escalate(
    *, actor, dispute: Dispute, message: str = "", manager: PluginsManager | None = None
) -> Dispute:
    """Hand the dispute to platform staff: the shopper after a rejection, the vendor about returned goods, or staff."""
    with transaction.atomic():
        dispute = _locked(dispute)
        roles = dispute_roles(actor, dispute)
        if not roles:
            raise DomainError(E.NOT_FOUND, "No such dispute.", field="id")
        allowed = [role for role in (MessageRole.STAFF, MessageRole.SHOPPER, MessageRole.VENDOR) if role in roles]
        role = next((r for r in allowed if dispute.status in ESCALATE_FROM[r]), None)
        if role is None:
            raise DomainError(
                E.INVALID_TRANSITION, f"A dispute that is {dispute.status} cannot be escalated by you.", field="status"
            )
        message = (message or "").strip()
        if message:
            _add_message(dispute, author=actor, role=role, body=message, evidence=(), staged=None)
        dispute.escalated_at = timezone.now()
        return _move(
            dispute, S.UNDER_ARBITRATION, actor=actor, action="escalate", manager=manager, reason=message,
            update_fields=["escalated_at"], by=role,
        )


def dispute_withdraw(*, actor, dispute: Dispute, message: str = "", manager: PluginsManager | None = None) -> Dispute:
    """The shopper gives up the claim: closed without refund, the order's money released as usual."""
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_role(actor, dispute, MessageRole.SHOPPER)
        DISPUTE_STATUS.check(dispute.status, S.CLOSED)
        message = (message or "").strip()
        if message:
            _add_message(dispute, author=actor, role=MessageRole.SHOPPER, body=message, evidence=(), staged=None)
        dispute.ruling_outcome, dispute.ruling_amount = "", None
        dispute.ruling_source, dispute.ruling_note = RulingSource.WITHDRAWN, message
        dispute.ruled_by, dispute.ruled_at = None, timezone.now()
        return _move(
            dispute, S.CLOSED, actor=actor, action="withdraw", manager=manager, reason=message,
            update_fields=RULING_FIELDS,
        )


def dispute_message_add(
    *,
    actor,
    dispute: Dispute,
    body: str = "",
    evidence: Iterable | None = None,
    role: str | None = None,
) -> DisputeMessage:
    """A message on the thread, with optional evidence, from a party or staff; closed disputes take none.

    `role` says which side speaks when the caller plays several (the storefront speaks as the shopper).
    """
    checked = check_evidence(evidence)
    body = (body or "").strip()
    if not body and not checked:
        raise DomainError(E.REQUIRED, "Write a message or attach evidence.", field="body")
    with transaction.atomic(), StagedFiles(private_storage()) as staged:
        dispute = _locked(dispute)
        allowed = (role,) if role else (MessageRole.VENDOR, MessageRole.STAFF, MessageRole.SHOPPER)
        role = _require_role(actor, dispute, *allowed)
        if dispute.status == S.CLOSED:
            raise DomainError(E.INVALID_TRANSITION, "The dispute is closed.", field="status")
        message = _add_message(dispute, author=actor, role=role, body=body, evidence=checked, staged=staged)
        dispute.save(update_fields=["updated_at"])
    return message


# --- The return leg ------------------------------------------------------------------


def _return_service(order: Order, carrier: str, service_code: str | None, parcels, origin: str, destination: str,
                    manager: PluginsManager | None) -> str:
    if service_code:
        return service_code
    if carrier == order.shipping_carrier_id:
        return order.shipping_service_code
    from plugins.logistics.interface import Package

    quotes = logistics.quote_package(
        package=Package(parcels=parcels, vendor_id=order.vendor_id), origin=origin, destination=destination,
        carrier=carrier, manager=manager,
    ).quotes
    if not quotes:
        raise DomainError(E.SERVICE_NOT_AVAILABLE, f"{carrier} does not carry this parcel.", field="carrier")
    return quotes[0].service_code


def dispute_return_ship(
    *,
    actor,
    dispute: Dispute,
    carrier: str,
    tracking_number: str,
    service_code: str | None = None,
    manager: PluginsManager | None = None,
) -> Dispute:
    """The shopper sent the goods back with a carrier: the return parcel is recorded under its tracking number."""
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_role(actor, dispute, MessageRole.SHOPPER)
        _require_status(dispute, S.AWAITING_RETURN, action="shipped back")
        carrier = (carrier or "").strip()
        if not carrier:
            raise DomainError(E.REQUIRED, "Name the carrier.", field="carrier")
        if not (tracking_number or "").strip():
            raise DomainError(E.REQUIRED, "Give the tracking number.", field="trackingNumber")
        order = dispute.order
        lines = list(dispute.lines.select_related("order_line"))
        parcels = orders.package_parcels([item.order_line.weight_kg * item.quantity for item in lines])
        origin, destination = order.shipping_region, vendor_shipping_origin(order.vendor)
        try:
            service = _return_service(order, carrier, service_code, parcels, origin, destination, manager)
            shipment = logistics.shipment_register(
                request=ShipmentRequest(
                    vendor=order.vendor,
                    reference=f"return:{dispute.pk}",
                    carrier=carrier,
                    service_code=service,
                    origin=origin,
                    destination=destination,
                    parcels=parcels,
                    idempotency_key=f"return:{dispute.pk}",
                ),
                tracking_number=tracking_number,
                manager=manager,
            )
        except DomainError as error:
            raise _foreign(error, E.CARRIER_ERROR) from error
        dispute.return_shipment = shipment
        return _move(
            dispute, S.RETURN_SHIPPED, actor=actor, action="return_ship", manager=manager,
            update_fields=["return_shipment"], carrier=carrier, tracking_number=shipment.tracking_number,
        )


def dispute_return_received(*, actor, dispute: Dispute, manager: PluginsManager | None = None) -> Dispute:
    """The vendor (or staff) confirms the returned goods arrived: the agreed refund is made."""
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_role(actor, dispute, MessageRole.VENDOR, MessageRole.STAFF)
        _require_status(dispute, S.RETURN_SHIPPED, action="confirmed as returned")
        dispute.return_received_at = timezone.now()
        dispute.save(update_fields=["return_received_at", "updated_at"])
        amount = dispute.money(dispute.ruling_amount if dispute.ruling_amount is not None else dispute.requested_amount)
        refunded = _refund(dispute, amount, actor=actor, manager=manager)
        return _move(dispute, S.RESOLVED, actor=actor, action="return_received", manager=manager,
                     refunded=str(refunded.amount))


def dispute_return_delivered(shipment: Shipment) -> None:
    """Logistics' hook: the carrier delivered a return parcel; the vendor's time to confirm may get shorter."""
    if not (shipment.reference or "").startswith("return:"):
        return
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("order", "return_shipment")
        .filter(return_shipment_id=shipment.pk, status=S.RETURN_SHIPPED)
        .first()
    )
    if dispute is None:
        return
    deadline = policy.deadline_for(dispute, S.RETURN_SHIPPED, now=shipment.delivered_at or timezone.now())
    if deadline is not None and (dispute.deadline_at is None or deadline < dispute.deadline_at):
        dispute.deadline_at = deadline
        dispute.save(update_fields=["deadline_at", "updated_at"])


# --- Staff ---------------------------------------------------------------------------


def dispute_resolve(
    *,
    actor,
    dispute: Dispute,
    outcome: str,
    refund_amount=None,
    deposit_penalty=None,
    penalty_to_buyer: bool = True,
    note: str = "",
    manager: PluginsManager | None = None,
) -> Dispute:
    """Staff rule on an escalated dispute: refund in full (as requested), in part, or reject;
    optionally with a penalty from the vendor's deposit (to the shopper, or to the platform)."""
    require_permission(actor, PlatformPermission.ARBITRATE_DISPUTES, E.PERMISSION_DENIED)
    if outcome not in RulingOutcome.values:
        raise DomainError(E.INVALID, "Unknown outcome.", field="outcome")
    note = (note or "").strip()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_status(dispute, S.UNDER_ARBITRATION, action="ruled on (escalate it first)")
        amount = _amount(refund_amount, dispute.currency, "refundAmount")
        if outcome == RulingOutcome.REFUND_PARTIAL:
            if amount is None:
                raise DomainError(E.REQUIRED, "Give the amount to refund.", field="refundAmount")
            if amount.amount > dispute.requested_amount or amount.amount > dispute.refundable_amount:
                raise DomainError(
                    E.AMOUNT_TOO_HIGH, f"At most the {dispute.requested_amount} requested.", field="refundAmount"
                )
        elif outcome == RulingOutcome.REJECT and amount is not None:
            raise DomainError(E.INVALID, "A rejection refunds nothing.", field="refundAmount")
        penalty = _amount(deposit_penalty, dispute.currency, "depositPenalty")
        granted = None if outcome == RulingOutcome.REJECT else _granted_amount(dispute, outcome, amount)
        _rule(dispute, outcome=outcome, amount=granted, source=RulingSource.STAFF, note=note, actor=actor)
        if note:
            _add_message(dispute, author=actor, role=MessageRole.STAFF, body=note, evidence=(), staged=None)
        if penalty is not None:
            _penalty(dispute, penalty, to_buyer=penalty_to_buyer, reason=note or f"Dispute {dispute.pk}", actor=actor,
                     cap=False)
        data = {
            "outcome": outcome,
            "ruled_amount": str(granted.amount) if granted else None,
            "deposit_penalty": str(penalty.amount) if penalty else None,
            "penalty_to_buyer": penalty_to_buyer if penalty else None,
        }
        if granted is None:
            return _move(dispute, S.RESOLVED, actor=actor, action="resolve", manager=manager, reason=note, **data)
        return _grant(dispute, granted, actor=actor, manager=manager, action="resolve", reason=note, **data)


# --- Deadlines -----------------------------------------------------------------------


def _apply_ruling(dispute: Dispute, ruling: Ruling, *, manager: PluginsManager | None, now: datetime) -> bool:
    """The policy's automatic ruling for the state whose deadline passed; False when it cannot apply."""
    status = dispute.status
    if ruling.outcome == Outcome.ESCALATE:
        if not DISPUTE_STATUS.can(status, S.UNDER_ARBITRATION):
            return False
        dispute.escalated_at = now
        _move(dispute, S.UNDER_ARBITRATION, actor=None, action="deadline_escalate", manager=manager,
              reason=ruling.note, update_fields=["escalated_at"], now=now)
        return True
    if ruling.outcome == Outcome.REJECT:
        target = S.CLOSED if DISPUTE_STATUS.can(status, S.CLOSED) else S.RESOLVED
        if not DISPUTE_STATUS.can(status, target):
            return False
        _rule(dispute, outcome=RulingOutcome.REJECT, amount=None, source=RulingSource.AUTOMATIC, note=ruling.note,
              actor=None)
        _move(dispute, target, actor=None, action="deadline_reject", manager=manager, reason=ruling.note, now=now)
        return True
    if ruling.outcome not in (Outcome.REFUND_FULL, Outcome.REFUND_PARTIAL):
        return False
    if status == S.RETURN_SHIPPED:
        agreed = ruling.amount or (dispute.money(dispute.ruling_amount) if dispute.ruling_amount is not None else None)
        amount = _granted_amount(dispute, Outcome.REFUND_PARTIAL, agreed)
        refunded = _refund(dispute, amount, actor=None, manager=manager)
        _move(dispute, S.RESOLVED, actor=None, action="deadline_refund", manager=manager, reason=ruling.note,
              refunded=str(refunded.amount), now=now)
        return True
    target = S.AWAITING_RETURN if dispute.kind == DisputeKind.RETURN_AND_REFUND and not dispute.return_shipment_id else S.RESOLVED
    if not DISPUTE_STATUS.can(status, target):
        return False
    amount = _granted_amount(dispute, ruling.outcome, ruling.amount)
    outcome = RulingOutcome.REFUND_FULL if amount == dispute.requested else RulingOutcome.REFUND_PARTIAL
    _rule(dispute, outcome=outcome, amount=amount, source=RulingSource.AUTOMATIC, note=ruling.note, actor=None)
    penalty = policy.deposit_penalty(dispute, Ruling(outcome, amount, ruling.note), manager=manager)
    if penalty is not None:
        _penalty(dispute, penalty.amount, to_buyer=penalty.to_buyer, reason=penalty.reason, actor=None, cap=True)
    _grant(dispute, amount, actor=None, manager=manager, action="deadline_refund", reason=ruling.note, now=now)
    return True


def disputes_due(*, now: datetime | None = None):
    now = now or timezone.now()
    return Dispute.objects.filter(
        status__in=[*ACTIVE_STATUSES, S.RESOLVED], deadline_at__isnull=False, deadline_at__lte=now
    ).order_by("deadline_at", "pk")


def disputes_apply_deadlines(
    *, now: datetime | None = None, limit: int | None = None, manager: PluginsManager | None = None,
    batch_size: int | None = None,
) -> int:
    """Apply the policy to every dispute whose deadline passed; returns how many moved.

    In batches of DISPUTE_DEADLINE_BATCH_SIZE disputes (keyset over the primary key), in up to
    three steps, so that no row is locked while a gateway answers:
    1. one transaction locks the batch's disputes (on PostgreSQL skipping rows another run or a
       party holds), re-checks them and applies every ruling that moves no money through a gateway
       (escalations, rejections, closing, waiting for the return); a ruling that refunds now only
       claims its refund there (the orders domain's two-phase refund: an OrderRefund REQUESTED
       under the dispute's key, the amount held back), the dispute unchanged;
    2. the gateway is asked for each claimed refund, with no transaction open, and the answers
       are recorded (the ledger moved) in one transaction;
    3. one transaction applies the rulings of the disputes whose refund went through (the refund
       is found under its key: no money moves twice). A refused refund leaves its dispute for the
       next run (which claims again under a new key); one with no answer stays claimed and is
       asked again, under the same key, by the next run or payments.complete_refunds.
    A batch that fails in step 1 or 3 is gone through again dispute by dispute, so one bad dispute
    never holds back the others. Two runs at once, or one after the other, rule on each dispute
    once; a crash between the steps loses nothing and moves nothing twice.
    """
    now = now or timezone.now()
    manager = manager or get_plugins_manager()
    batch_size = batch_size or settings.DISPUTE_DEADLINE_BATCH_SIZE
    moved, after = 0, 0
    while limit is None or moved < limit:
        size = batch_size if limit is None else min(batch_size, limit - moved)
        ids = list(disputes_due(now=now).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        after = ids[-1]
        done, claimed = _deadline_batches(ids, now=now, manager=manager, claim=True)
        if claimed:
            finished = orders.refunds_finish([record for _, record in claimed], manager=manager)
            through = {record.pk for record in finished if record.status == OrderRefundStatus.SUCCEEDED}
            again = [dispute_id for dispute_id, record in claimed if record.pk in through]
            for dispute_id, record in claimed:
                if record.pk not in through:
                    logger.warning("Dispute %s: the deadline's refund %s did not go through (%s); tried again next run",
                                   dispute_id, record.idempotency_key, record.status)
            if again:
                more, _ = _deadline_batches(again, now=now, manager=manager, claim=False)
                done += more
        moved += len(done)
        record_processed("dispute", *done)
    return moved


def _deadline_batches(ids: list[int], *, now, manager, claim: bool) -> tuple[list[int], list[tuple[int, object]]]:
    """_deadline_batch, and dispute by dispute if the batch fails."""
    try:
        return _deadline_batch(ids, now=now, manager=manager, claim=claim)
    except Exception as error:
        if len(ids) == 1:
            _log_deadline_failure(ids[0], error)
            return [], []
        logger.warning("Dispute deadlines %s to %s failed in one batch; applying them one by one", ids[0], ids[-1])
    done, claimed = [], []
    for pk in ids:
        try:
            one_done, one_claimed = _deadline_batch([pk], now=now, manager=manager, claim=claim)
        except Exception as error:
            _log_deadline_failure(pk, error)
            continue
        done += one_done
        claimed += one_claimed
    return done, claimed


def _log_deadline_failure(pk: int, error: Exception) -> None:
    if isinstance(error, DomainError):
        # A failed refund (gateway down) is tried again at the next run.
        logger.warning("Dispute %s: deadline ruling failed: %s", pk, error.message)
    else:
        logger.error("Dispute %s: deadline ruling failed", pk, exc_info=error)


def _refund_now(dispute: Dispute, ruling: Ruling) -> Money | None:
    """What _apply_ruling would refund through the gateway right away for this ruling, or None."""
    if ruling.outcome not in (Outcome.REFUND_FULL, Outcome.REFUND_PARTIAL):
        return None
    if dispute.status == S.RETURN_SHIPPED:
        agreed = ruling.amount or (dispute.money(dispute.ruling_amount) if dispute.ruling_amount is not None else None)
        return _granted_amount(dispute, Outcome.REFUND_PARTIAL, agreed)
    if dispute.kind == DisputeKind.RETURN_AND_REFUND and not dispute.return_shipment_id:
        return None  # the goods go back first
    if not DISPUTE_STATUS.can(dispute.status, S.RESOLVED):
        return None
    return _granted_amount(dispute, ruling.outcome, ruling.amount)


def _deadline_batch(ids: list[int], *, now, manager, claim: bool) -> tuple[list[int], list[tuple[int, object]]]:
    """One transaction over these disputes: (ids that moved, [(dispute id, refund claimed)])."""
    skip = connection.features.has_select_for_update_skip_locked
    done, claimed = [], []
    with transaction.atomic():
        disputes = list(
            Dispute.objects.select_for_update(of=("self",), skip_locked=skip)
            .select_related("order", "return_shipment", "vendor")
            .prefetch_related("messages__evidence")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        for dispute in disputes:
            if dispute.deadline_at is None or dispute.deadline_at > now:
                continue
            if dispute.status == S.RESOLVED:
                _move(dispute, S.CLOSED, actor=None, action="close", manager=manager, now=now)
                done.append(dispute.pk)
                continue
            if not dispute.is_active:
                continue
            ruling = policy.automatic_ruling(dispute, manager=manager)
            if ruling is None:
                continue
            if claim:
                record = _claim_refund(dispute, ruling)
                if record is not None:
                    claimed.append((dispute.pk, record))
                    continue
            if _apply_ruling(dispute, ruling, manager=manager, now=now):
                done.append(dispute.pk)
    return done, claimed


def _claim_refund(dispute: Dispute, ruling: Ruling):
    """Step 1 for a ruling that refunds now: its refund claimed (or the one claimed before and not
    answered yet), to be asked at the gateway after the transaction; None when nothing is to be
    asked (no refund now, nothing left to refund, or the refund went through already)."""
    amount = _refund_now(dispute, ruling)
    if amount is None:
        return None
    attempts = _refund_attempts(dispute)
    live = _live_refund(attempts)
    if live is not None:
        return live if live.status == OrderRefundStatus.REQUESTED else None
    order = dispute.order
    remaining = order.total - order.refunded
    if amount.amount > remaining.amount:
        amount = remaining
    if amount.amount <= 0 or order.payment_id is None:
        return None  # _apply_ruling refunds nothing, or raises NOTHING_TO_REFUND
    try:
        return orders.refund_claim(
            order=order, amount=amount, idempotency_key=_next_refund_key(dispute, attempts), actor=None,
            reason=f"Dispute {dispute.pk}",
        )
    except DomainError as error:
        raise _foreign(error, E.REFUND_FAILED) from error
