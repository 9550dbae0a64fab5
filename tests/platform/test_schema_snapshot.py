from backend.core.management.commands.print_schemas import SNAPSHOTS, printed_schemas


def test_committed_schemas_are_current():
    """`make schema` rewrites them; a stale snapshot means an API change went unreviewed."""
    for name, text in printed_schemas().items():
        assert SNAPSHOTS[name].read_text() == text, f"{SNAPSHOTS[name]} is stale: run `make schema`"
