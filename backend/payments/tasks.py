"""Periodic work of the payments domain (scheduled in settings.CELERY_BEAT_SCHEDULE); safe to run twice."""

from datetime import date

from backend.core.periodic import periodic_task

from .reconciliation import reconcile_gateways
from .services import payments_complete_refunds


@periodic_task("payments.complete_refunds")
def complete_refunds() -> int:
    """Finish refunds the gateway did not answer (a timeout, a 5xx, a crashed worker); never refunds twice."""
    return payments_complete_refunds()


@periodic_task("payments.reconcile_gateways")
def reconcile_gateways_task(day: str | None = None) -> dict:
    """Compare each gateway's records of a day (yesterday by default, ISO date) with ours; report mismatches."""
    return reconcile_gateways(date.fromisoformat(day) if day else None)


@periodic_task("payments.complete_transfers")
def complete_transfers_task() -> int:
    """Ask again, under the same key, for payouts' transfers whose request got no answer."""
    from .services import transfers_complete

    return transfers_complete()
