"""Write the printed GraphQL schemas that are committed, so API changes show in review."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

SNAPSHOTS = {
    "core": Path(settings.BASE_DIR) / "backend" / "graphql" / "schema.graphql",
    "storefront": Path(settings.BASE_DIR) / "storefront_api" / "schema.graphql",
}


def printed_schemas() -> dict[str, str]:
    from backend.graphql.api import schema as core_schema
    from storefront_api.schema import schema as storefront_schema

    return {
        "core": str(core_schema).strip() + "\n",
        "storefront": storefront_schema.as_str().strip() + "\n",
    }


class Command(BaseCommand):
    help = "Print both GraphQL schemas into their committed snapshot files."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if a snapshot is out of date.")

    def handle(self, *args, check=False, **options):
        stale = []
        for name, text in printed_schemas().items():
            path = SNAPSHOTS[name]
            current = path.read_text() if path.exists() else ""
            if current == text:
                continue
            if check:
                stale.append(str(path))
            else:
                path.write_text(text)
                self.stdout.write(f"wrote {path}")
        if stale:
            raise SystemExit(f"out of date (run `make schema`): {', '.join(stale)}")
