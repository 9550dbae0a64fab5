"""The thin mutation: check permission, call the service inside a transaction, report errors."""

from __future__ import annotations

from dataclasses import dataclass

import graphene
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from graphene.types.mutation import MutationOptions

from backend.core.exceptions import DomainError, DomainErrors
from backend.core.permissions import require_permission


@dataclass
class ErrorValue:
    field: str | None
    code: object
    message: str


class BaseMutationOptions(MutationOptions):
    error_type_class = None
    code_enum = None
    permission = None
    atomic = True


class BaseMutation(graphene.Mutation):
    """Subclasses set Meta.error_type_class (and optionally permission, atomic=False)
    and implement perform_mutation(root, info, **data) returning the payload.

    A DomainError raised anywhere below becomes an entry in `errors` and the
    transaction is rolled back, so nothing is half-written.
    """

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(
        cls, error_type_class=None, permission=None, atomic=True, _meta=None, **options
    ):
        if error_type_class is None:
            raise ImproperlyConfigured(f"{cls.__name__} needs Meta.error_type_class")
        if not _meta:
            _meta = BaseMutationOptions(cls)
        _meta.error_type_class = error_type_class
        _meta.code_enum = error_type_class._meta.fields["code"].type.of_type._meta.enum
        _meta.permission = permission
        _meta.atomic = atomic
        cls.errors = graphene.List(graphene.NonNull(error_type_class), required=True)
        super().__init_subclass_with_meta__(_meta=_meta, **options)

    @classmethod
    def error(cls, exc: DomainError) -> ErrorValue:
        try:
            code = cls._meta.code_enum[exc.code.name]
        except KeyError as missing:
            raise ImproperlyConfigured(
                f"{cls._meta.code_enum.__name__} lacks the code {exc.code.name} raised by a service"
            ) from missing
        return ErrorValue(field=exc.field, code=code, message=exc.message)

    @classmethod
    def failure(cls, errors: list[DomainError]):
        return cls(errors=[cls.error(e) for e in errors])

    @classmethod
    def mutate(cls, root, info, **data):
        try:
            if cls._meta.permission is not None:
                require_permission(
                    info.context.user, cls._meta.permission, cls._meta.code_enum["PERMISSION_DENIED"]
                )
            if cls._meta.atomic:
                with transaction.atomic():
                    payload = cls.perform_mutation(root, info, **data)
            else:
                payload = cls.perform_mutation(root, info, **data)
        except DomainError as exc:
            return cls.failure([exc])
        except DomainErrors as exc:
            return cls.failure(exc.errors)
        if payload.errors is None:
            payload.errors = []
        return payload

    @classmethod
    def perform_mutation(cls, root, info, **data):
        raise NotImplementedError
