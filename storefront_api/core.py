"""Shared storefront pieces: Money, per-domain error types, and the mutation runner."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import strawberry
from django.db import transaction
from moneyed import Money as MoneyValue
from strawberry.types import Info

from backend.core.exceptions import DomainError, DomainErrors


@strawberry.type(description="An amount of money: a decimal string and an ISO 4217 currency code.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def from_value(cls, value: MoneyValue | None) -> Money | None:
        if value is None:
            return None
        return cls(amount=value.amount, currency=value.currency.code)


_enums: dict[type, Any] = {}
_error_types: dict[str, Any] = {}


def error_code_enum(code_enum: type[Enum]):
    if code_enum not in _enums:
        _enums[code_enum] = strawberry.enum(code_enum)
    return _enums[code_enum]


def error_type(name: str, code_enum: type[Enum]):
    """`<Domain>Error { field, code: <Domain>ErrorCode!, message }`."""
    if name not in _error_types:
        enum = error_code_enum(code_enum)
        namespace = {
            "__annotations__": {"field": str | None, "code": enum, "message": str},
            "field": None,
        }
        _error_types[name] = strawberry.type(type(name, (), namespace), name=name)
    return _error_types[name]


def current_user(info: Info):
    return info.context.request.user


P = TypeVar("P")


def run_mutation(payload_cls: type[P], error_cls, action: Callable[[], dict], *, atomic: bool = True) -> P:
    """Run a service call and shape its result or its DomainError into the payload.

    The error type's code enum must contain the code raised, by name.
    """
    code_enum = _code_enum_of(error_cls)
    try:
        if atomic:
            with transaction.atomic():
                values = action()
        else:
            values = action()
    except DomainError as exc:
        return payload_cls(errors=[_to_error(error_cls, code_enum, exc)])
    except DomainErrors as exc:
        return payload_cls(errors=[_to_error(error_cls, code_enum, e) for e in exc.errors])
    return payload_cls(errors=[], **values)


def _code_enum_of(error_cls) -> type[Enum]:
    return error_cls.__annotations__["code"]


def _to_error(error_cls, code_enum: type[Enum], exc: DomainError):
    return error_cls(field=exc.field, code=code_enum[exc.code.name], message=exc.message)
