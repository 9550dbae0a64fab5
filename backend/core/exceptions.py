"""Domain errors raised by services and turned into GraphQL `errors` by both APIs."""

from __future__ import annotations

from enum import Enum


class DomainError(Exception):
    """A business failure with a stable code, optionally tied to an input field."""

    def __init__(self, code: Enum, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, field={self.field!r})"


class DomainErrors(Exception):
    """Several field errors found at once (input validation)."""

    def __init__(self, errors: list[DomainError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
