"""Pay vendors out now, as the payout schedule would (with a progress bar)."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from backend.core.exceptions import DomainError
from backend.finance.payouts import payouts_run_scheduled


class Command(BaseCommand):
    help = (
        "Run the scheduled payouts: every active vendor holding at least PAYOUT_MINIMUM_AMOUNT is paid its "
        "available balance through the gateway. Only on the schedule's payout days unless --force; "
        "running twice on one day pays once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Pay out even if today is not a payout day.")
        parser.add_argument("--date", help="Run as of this day (YYYY-MM-DD) instead of today.")
        parser.add_argument("--vendor", type=int, action="append", help="Only this vendor id (repeatable).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, force=False, date=None, vendor=None, no_progress=False, **options):
        now = timezone.now()
        if date:
            try:
                day = datetime.strptime(date, "%Y-%m-%d")
            except ValueError as exc:
                raise CommandError("--date takes YYYY-MM-DD.") from exc
            now = timezone.make_aware(day.replace(hour=12))

        def progress(items):
            return tqdm(items, desc="payouts", unit="vendor", disable=True if no_progress else None)

        try:
            result = payouts_run_scheduled(now=now, force=force, vendor_ids=vendor, progress=progress)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Payouts: {result['paid']} paid, {result['failed']} failed (money back to available), "
                f"{result['pending']} pending at the gateway, {result['skipped']} skipped."
            )
        )
