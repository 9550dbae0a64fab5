"""Allowed status transitions written down as data, and one function that applies them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

from .exceptions import DomainError


class StateMachine:
    def __init__(
        self,
        name: str,
        transitions: Mapping[str, Iterable[str]],
        error_code: Enum,
    ):
        self.name = name
        self.transitions = {source: frozenset(targets) for source, targets in transitions.items()}
        self.error_code = error_code

    @property
    def states(self) -> set[str]:
        states = set(self.transitions)
        for targets in self.transitions.values():
            states |= targets
        return states

    def allowed(self, source: str) -> frozenset[str]:
        return self.transitions.get(source, frozenset())

    def can(self, source: str, target: str) -> bool:
        return target in self.allowed(source)

    def check(self, source: str, target: str) -> None:
        if not self.can(source, target):
            raise DomainError(
                self.error_code,
                f"A {self.name} cannot go from {source} to {target}.",
                field="status",
            )

    def apply(self, obj, target: str, *, field: str = "status", update_fields: Iterable[str] = ()) -> None:
        """Move obj to target, or raise; saves the status and the given fields."""
        self.check(getattr(obj, field), target)
        setattr(obj, field, target)
        fields = {field, *update_fields}
        if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            fields.add("updated_at")
        obj.save(update_fields=sorted(fields))
