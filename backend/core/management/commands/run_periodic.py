"""The embedded scheduler: the beat schedule run in this process (what `make run` starts beside the web server)."""

import signal

from celery.beat import Service
from django.conf import settings
from django.core.management.base import BaseCommand

from backend.celery import app
from backend.core import periodic
from backend.core.scheduler import EmbeddedScheduler


def _stop(signum, frame):
    raise SystemExit(0)


class Command(BaseCommand):
    help = (
        "Run the periodic tasks of settings.CELERY_BEAT_SCHEDULE at their intervals in this process, with no "
        "broker and no worker (the embedded default). The last run of each is kept in "
        "CELERY_BEAT_SCHEDULE_FILENAME, so a restart does not run everything again at once. Production runs "
        "`celery -A backend beat` and workers instead (running both is safe, every task being idempotent, "
        "but does the work twice)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule-file",
            default=None,
            help="Where the last-run times are kept (default: CELERY_BEAT_SCHEDULE_FILENAME).",
        )
        parser.add_argument(
            "--max-interval", type=float, default=None, help="Longest sleep between checks, in seconds (default 300)."
        )

    def handle(self, *args, schedule_file=None, max_interval=None, **options):
        periodic.load_tasks()
        signal.signal(signal.SIGTERM, _stop)
        filename = schedule_file or settings.CELERY_BEAT_SCHEDULE_FILENAME
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            self.stdout.write(f"periodic: {entry['task']} ({name}) {periodic.interval_text(entry['schedule'])}")
        self.stdout.write(f"periodic: last runs kept in {filename}; Ctrl-C stops")
        self.stdout.flush()
        Service(app, max_interval=max_interval, schedule_filename=filename, scheduler_cls=EmbeddedScheduler).start()
