"""Periodic work of the payments domain (scheduled in settings.CELERY_BEAT_SCHEDULE); safe to run twice."""

from datetime import date

from backend.core.periodic import periodic_task

from .reconciliation import reconcile_gateways


@periodic_task("payments.reconcile_gateways")
def reconcile_gateways_task(day: str | None = None) -> dict:
    """Compare each gateway's records of a day (yesterday by default, ISO date) with ours; report mismatches."""
    return reconcile_gateways(date.fromisoformat(day) if day else None)


@periodic_task("payments.complete_transfers")
def complete_transfers_task() -> int:
    """Ask again, under the same key, for payouts' transfers whose request got no answer."""
    from .services import transfers_complete

    return transfers_complete()
