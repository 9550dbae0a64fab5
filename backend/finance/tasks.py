"""Periodic work of the finance domain (scheduled in settings.CELERY_BEAT_SCHEDULE); each is safe to run twice."""

from backend.core.periodic import periodic_task

from .closure import closures_settle
from .entry_fees import fee_rebates_pay
from .payouts import payouts_run_scheduled
from .standing import vendor_standing_check


@periodic_task("finance.vendor_standing_check")
def vendor_standing_check_task() -> dict:
    """Restrict vendors that fell short of fee or deposit, restore those that paid, suspend overdue ones."""
    return vendor_standing_check()


@periodic_task("finance.closures_settle")
def closures_settle_task() -> int:
    """Return the deposit of closing stores whose cooling-off is over and close them."""
    return closures_settle()


@periodic_task("finance.fee_rebates_pay")
def fee_rebates_pay_task() -> int:
    """Pay the rebate earned on every fee year that ended."""
    return fee_rebates_pay()


@periodic_task("finance.payouts_run_scheduled")
def payouts_run_scheduled_task() -> dict:
    """Pay due vendors out on the payout schedule's days."""
    return payouts_run_scheduled()
