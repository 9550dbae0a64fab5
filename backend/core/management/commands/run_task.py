"""Run one periodic task now, in this process, for operators."""

from django.core.management.base import BaseCommand, CommandError

from backend.core import periodic


class Command(BaseCommand):
    help = (
        "Run one periodic task of the beat schedule now, here, against the configured database, and print "
        "what it did. NAME is the task (orders.auto_confirm_receipts) or its schedule entry "
        "(orders-auto-confirm-receipts). Every periodic task is safe to run at any time, also while "
        "beat or the embedded scheduler runs it."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Task or schedule entry; omit with --list.")
        parser.add_argument(
            "--list", action="store_true", dest="show_list", help="List the periodic tasks and their intervals."
        )

    def handle(self, *args, name=None, show_list=False, **options):
        periodic.load_tasks()
        entries = periodic.scheduled_entries()
        if show_list or not name:
            self.stdout.write(self.listing(entries))
            return
        task = entries[name]["task"] if name in entries else name
        if task not in periodic.task_names() or task not in periodic.REGISTRY:
            raise CommandError(f"Unknown periodic task {name!r}. The periodic tasks are:\n{self.listing(entries)}")
        try:
            run = periodic.REGISTRY[task]()
        except Exception as error:  # noqa: BLE001 - an operator's command: say what failed, exit non-zero
            raise CommandError(f"{task} failed: {type(error).__name__}: {error}") from error
        self.stdout.write(self.style.SUCCESS(run.summary))

    def listing(self, entries) -> str:
        width = max(len(entry["task"]) for entry in entries.values())
        lines = [f"{'task'.ljust(width)}  {'schedule entry'.ljust(32)}  interval"]
        for entry_name, entry in entries.items():
            interval = periodic.interval_text(entry["schedule"])
            lines.append(f"{entry['task'].ljust(width)}  {entry_name.ljust(32)}  {interval}")
        return "\n".join(lines)
