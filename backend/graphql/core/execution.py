"""The core API's graphql-core execution context."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from graphql import get_nullable_type

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError

from .hostile_input import HostileInputRefusal, HostileText, hostile_text_message
from .mutations import BaseMutation


class CoreExecutionContext(HostileInputRefusal):
    def refused_payload(self, return_type, hostile: HostileText):
        mutation = getattr(get_nullable_type(return_type), "graphene_type", None)
        if not (isinstance(mutation, type) and issubclass(mutation, BaseMutation)):
            return None
        try:
            return mutation.failure([DomainError(CoreErrorCode.INVALID, hostile_text_message(), field=hostile.field)])
        except ImproperlyConfigured:  # an error enum without INVALID
            return None
