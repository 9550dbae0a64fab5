"""Daily reconciliation: each gateway's records of a day against our payments, refunds and transfers.

For every active gateway plugin that answers `gateway_records`, the records of
the day (in settings.TIME_ZONE) are matched with our rows by kind and provider
reference. Each difference becomes a ReconciliationMismatch:

- missing_here: the gateway moved money we have no row for;
- missing_at_gateway: we recorded money moving (a captured payment, a succeeded
  refund, a paid transfer made that day) that the gateway does not report;
- amount_differs / currency_differs / status_differs: both sides know it, they disagree.

Nothing is ever corrected here: staff review each mismatch (admin) and act
through the usual operations. Running a day again finds the rows it found
before (one per gateway, day, kind, reference and problem) and adds only new ones.

Statuses compared are the normalised ones plugins report in GatewayRecord.status:
charge "succeeded" / "authorized" / "pending" / "failed" / "cancelled";
refund "succeeded" / "pending" / "failed"; transfer "paid" / "pending" / "failed" / "reversed".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import DomainError
from backend.core.periodic import record_processed
from plugins.base import BasePlugin
from plugins.manager import PluginsManager, get_plugins_manager

from .error_codes import PaymentErrorCode
from .models import (
    MismatchKind,
    MismatchProblem,
    Payment,
    PaymentStatus,
    ReconciliationMismatch,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
)

logger = logging.getLogger(__name__)

CHARGE_STATUS = {
    PaymentStatus.CAPTURED: "succeeded",
    PaymentStatus.PARTIALLY_REFUNDED: "succeeded",
    PaymentStatus.REFUNDED: "succeeded",
    PaymentStatus.AUTHORIZED: "authorized",
    PaymentStatus.PENDING: "pending",
    PaymentStatus.ACTION_REQUIRED: "pending",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.CANCELLED: "cancelled",
}
REFUND_STATUS = {
    RefundStatus.SUCCEEDED: "succeeded",
    RefundStatus.PENDING: "pending",
    RefundStatus.REQUESTED: "pending",
    RefundStatus.FAILED: "failed",
}
TRANSFER_STATUS = {
    TransferStatus.PAID: "paid",
    TransferStatus.PENDING: "pending",
    TransferStatus.FAILED: "failed",
    TransferStatus.REVERSED: "reversed",
}
# Statuses in which money moved: only these are missing on the other side.
MOVED = {"succeeded", "authorized", "paid", "reversed", ""}


@dataclass
class _Ours:
    kind: str
    reference: str
    amount: Decimal
    currency: str
    status: str
    in_day: bool
    payment: Payment | None = None
    refund: Refund | None = None
    transfer: Transfer | None = None


@dataclass
class GatewayReconciliation:
    gateway: str
    day: date
    records: int = 0
    matched: int = 0
    mismatches: list[ReconciliationMismatch] = field(default_factory=list)
    new: int = 0


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in settings.TIME_ZONE, as aware datetimes."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def reconcilable_gateways(manager: PluginsManager) -> list[BasePlugin]:
    return [
        plugin
        for plugin in manager.active_plugins
        if type(plugin).gateway_records is not BasePlugin.gateway_records
    ]


def _ours(gateway: str, start, end, references: dict[str, set[str]]) -> dict[tuple[str, str], _Ours]:
    """Our rows of the gateway made in the day, and those the gateway's records name (three queries)."""
    ours: dict[tuple[str, str], _Ours] = {}
    in_day = Q(created_at__gte=start, created_at__lt=end)
    for payment in Payment.objects.filter(gateway=gateway).filter(
        in_day | Q(psp_reference__in=references[MismatchKind.CHARGE])
    ).exclude(psp_reference=""):
        status = CHARGE_STATUS.get(payment.status, payment.status)
        ours[(MismatchKind.CHARGE, payment.psp_reference)] = _Ours(
            kind=MismatchKind.CHARGE,
            reference=payment.psp_reference,
            amount=payment.captured_amount if status == "succeeded" else payment.amount,
            currency=payment.currency,
            status=status,
            in_day=start <= payment.created_at < end,
            payment=payment,
        )
    for refund in Refund.objects.filter(payment__gateway=gateway).filter(
        in_day | Q(psp_reference__in=references[MismatchKind.REFUND])
    ).exclude(psp_reference=""):
        ours[(MismatchKind.REFUND, refund.psp_reference)] = _Ours(
            kind=MismatchKind.REFUND,
            reference=refund.psp_reference,
            amount=refund.amount,
            currency=refund.currency,
            status=REFUND_STATUS.get(refund.status, refund.status),
            in_day=start <= refund.created_at < end,
            refund=refund,
        )
    for transfer in Transfer.objects.filter(gateway=gateway).filter(
        in_day | Q(psp_reference__in=references[MismatchKind.TRANSFER])
    ).exclude(psp_reference=""):
        ours[(MismatchKind.TRANSFER, transfer.psp_reference)] = _Ours(
            kind=MismatchKind.TRANSFER,
            reference=transfer.psp_reference,
            amount=transfer.amount,
            currency=transfer.currency,
            status=TRANSFER_STATUS.get(transfer.status, transfer.status),
            in_day=start <= transfer.created_at < end,
            transfer=transfer,
        )
    return ours


def _record_json(record) -> dict:
    return {
        "kind": record.kind,
        "psp_reference": record.psp_reference,
        "amount": str(record.amount),
        "currency": record.currency,
        "status": record.status,
        "occurred_at": record.occurred_at.isoformat() if record.occurred_at else None,
    }


def _problems(mine: _Ours | None, record) -> list[str]:
    if mine is None:
        return [MismatchProblem.MISSING_HERE] if (record.status or "") in MOVED else []
    if record is None:
        return [MismatchProblem.MISSING_AT_GATEWAY] if mine.in_day and mine.status in MOVED else []
    problems = []
    if record.currency.upper() != mine.currency.upper():
        problems.append(MismatchProblem.CURRENCY_DIFFERS)
    elif Decimal(record.amount) != Decimal(mine.amount):
        problems.append(MismatchProblem.AMOUNT_DIFFERS)
    if record.status and record.status != mine.status:
        problems.append(MismatchProblem.STATUS_DIFFERS)
    return problems


def reconcile_gateway(gateway_id: str, day: date, *, manager: PluginsManager | None = None) -> GatewayReconciliation:
    """Compare one gateway's records of `day` with ours and store each mismatch once."""
    manager = manager or get_plugins_manager()
    plugin = manager.get_plugin(gateway_id)
    if plugin is None or type(plugin).gateway_records is BasePlugin.gateway_records:
        raise DomainError(
            PaymentErrorCode.GATEWAY_NOT_AVAILABLE,
            _("%(gateway)s cannot list its records.") % {"gateway": repr(gateway_id)},
            field="gateway",
        )
    start, end = day_bounds(day)
    # Asked outside any transaction: no row is locked while the gateway answers.
    records = list(plugin.gateway_records(start, end, previous_value=None) or [])
    by_key = {}
    for record in records:
        by_key[(record.kind, record.psp_reference)] = record
    references = {kind: set() for kind in MismatchKind.values}
    for kind, reference in by_key:
        references.setdefault(kind, set()).add(reference)
    ours = _ours(gateway_id, start, end, references)
    result = GatewayReconciliation(gateway=gateway_id, day=day, records=len(records))
    now = timezone.now()
    for key in sorted(set(by_key) | set(ours)):
        record, mine = by_key.get(key), ours.get(key)
        problems = _problems(mine, record)
        if not problems:
            result.matched += 1
            continue
        for problem in problems:
            mismatch, created = _store(gateway_id, day, key, problem, mine, record, now)
            result.mismatches.append(mismatch)
            result.new += int(created)
            record_processed("mismatch", mismatch.pk)
    return result


def _store(gateway_id, day, key, problem, mine: _Ours | None, record, now) -> tuple[ReconciliationMismatch, bool]:
    kind, reference = key
    values = {
        "payment": mine.payment if mine else None,
        "refund": mine.refund if mine else None,
        "transfer": mine.transfer if mine else None,
        "our_amount": mine.amount if mine else None,
        "our_currency": mine.currency if mine else "",
        "our_status": mine.status if mine else "",
        "gateway_amount": record.amount if record else None,
        "gateway_currency": record.currency if record else "",
        "gateway_status": record.status if record else "",
        "gateway_record": _record_json(record) if record else {},
        "last_seen_at": now,
    }
    lookup = {"gateway": gateway_id, "day": day, "kind": kind, "psp_reference": reference, "problem": problem}
    existing = ReconciliationMismatch.objects.filter(**lookup).first()
    if existing is not None:
        # What was found stays as found (and reviewed stays reviewed); only the sighting is noted.
        ReconciliationMismatch.objects.filter(pk=existing.pk).update(last_seen_at=now)
        return existing, False
    try:
        with transaction.atomic():
            return ReconciliationMismatch.objects.create(**lookup, **values), True
    except IntegrityError:  # an overlapping run stored it first
        return ReconciliationMismatch.objects.get(**lookup), False


def reconcile_gateways(day: date | None = None, *, manager: PluginsManager | None = None) -> dict[str, int]:
    """Reconcile every active gateway that lists its records for `day` (by default the day
    settings.RECONCILIATION_LAG_DAYS before today: yesterday).

    Returns the number of mismatches per gateway. A gateway that fails is logged and the
    others still run; the run then fails so that the periodic task retries it (safely).
    """
    manager = manager or get_plugins_manager()
    day = day or (timezone.localdate() - timedelta(days=settings.RECONCILIATION_LAG_DAYS))
    counts: dict[str, int] = {}
    failed: list[str] = []
    for plugin in reconcilable_gateways(manager):
        try:
            result = reconcile_gateway(plugin.PLUGIN_ID, day, manager=manager)
        except Exception:
            logger.exception("reconciliation of %s for %s failed", plugin.PLUGIN_ID, day)
            failed.append(plugin.PLUGIN_ID)
            continue
        counts[plugin.PLUGIN_ID] = len(result.mismatches)
        logger.info(
            "reconciliation %s %s: %d records, %d matched, %d mismatches (%d new)",
            plugin.PLUGIN_ID, day, result.records, result.matched, len(result.mismatches), result.new,
        )
    if failed:
        raise RuntimeError(f"Reconciliation for {day} failed for {', '.join(failed)}; the others are done: {counts}")
    return counts


def mismatch_review(*, mismatch: ReconciliationMismatch, user, note: str) -> ReconciliationMismatch:
    """Staff mark a mismatch reviewed with what they found or did; the mismatch itself stays as found."""
    note = (note or "").strip()
    if not note:
        raise DomainError(PaymentErrorCode.REQUIRED, _("Say what was found or done."), field="review_note")
    mismatch.reviewed_at = timezone.now()
    mismatch.reviewed_by = user
    mismatch.review_note = note
    mismatch.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
    return mismatch
