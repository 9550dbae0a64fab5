"""What a query asks for below a field: list resolvers prefetch only what will be shown."""

from __future__ import annotations


def selects(info, name: str) -> bool:
    """Whether the query asks for field `name` anywhere below this field (fragments included)."""

    def walk(selection_set) -> bool:
        for selection in getattr(selection_set, "selections", None) or []:
            kind = type(selection).__name__
            if kind == "FieldNode" and selection.name.value == name:
                return True
            if kind == "FragmentSpreadNode":
                fragment = info.fragments.get(selection.name.value)
                if fragment is not None and walk(fragment.selection_set):
                    return True
            elif walk(getattr(selection, "selection_set", None)):
                return True
        return False

    return any(walk(node.selection_set) for node in info.field_nodes)
