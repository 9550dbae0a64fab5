from __future__ import annotations

from decimal import Decimal

import graphene
from moneyed import Money as MoneyValue

from backend.core.permissions import PlatformPermission

PermissionEnum = graphene.Enum.from_enum(PlatformPermission, name="PermissionEnum")


class Money(graphene.ObjectType):
    amount = graphene.Decimal(required=True)
    currency = graphene.String(required=True)

    class Meta:
        description = "An amount of money: a decimal string and an ISO 4217 currency code."

    @staticmethod
    def resolve_amount(root: MoneyValue, _info) -> Decimal:
        return root.amount

    @staticmethod
    def resolve_currency(root: MoneyValue, _info) -> str:
        return root.currency.code


class CountableConnection(graphene.relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="Number of items matching the filters.")

    @staticmethod
    def resolve_total_count(root, _info) -> int:
        if root.length is None:  # a page of CountOnDemandConnectionField: counted now, as asked
            root.length = root.iterable.count()
        return root.length


def choices_enum(name: str, choices, description: str | None = None) -> type[graphene.Enum]:
    """A GraphQL enum over a model's TextChoices, values UPPER_SNAKE.

    Built from the choices class itself so a field can resolve either the stored
    string or a choices member just assigned by a service (a list-built enum
    refuses the latter).
    """
    for member in choices:
        if member.name != member.value.upper():
            raise ValueError(f"{choices.__name__}.{member.name} must be named {member.value.upper()}")
    return graphene.Enum.from_enum(choices, name=name, description=description)


_error_types: dict[str, type[graphene.ObjectType]] = {}
_enum_types: dict[type, type[graphene.Enum]] = {}


def error_code_enum(code_enum) -> type[graphene.Enum]:
    if code_enum not in _enum_types:
        _enum_types[code_enum] = graphene.Enum.from_enum(code_enum)
    return _enum_types[code_enum]


def error_type(name: str, code_enum) -> type[graphene.ObjectType]:
    """`<Domain>Error { field, code: <Domain>ErrorCode!, message }`, one type per domain."""
    if name not in _error_types:
        _error_types[name] = type(
            name,
            (graphene.ObjectType,),
            {
                "field": graphene.String(
                    description="The input field the error is about, or null for the whole operation."
                ),
                "message": graphene.String(required=True),
                "code": graphene.Field(error_code_enum(code_enum), required=True),
            },
        )
    return _error_types[name]
