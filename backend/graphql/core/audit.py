"""The audit trail in the core API, for any domain's type: who decided what, when and why.

A type adds `audit_log = graphene.List(graphene.NonNull(AuditLogEntry), ...)` resolved with
`audit_log_of(root)` after its own visibility check, and its connection field derives from
AuditTrailConnectionField so a page's trails load in one query.
"""

import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.audit import audit_trail, audit_trails


# No docstring: graphene would print it into the schema as the type's description.
class AuditLogEntry(graphene.ObjectType):
    action = graphene.String(required=True, description="What was done, e.g. vendor_application.approve.")
    reason = graphene.String(required=True, description="Why, as given by whoever decided.")
    actor_email = graphene.String(description="Who did it; null for the system.")
    created_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_actor_email(root, _info):
        return root.actor.email if root.actor is not None else None


def audit_log_of(root) -> list:
    """The object's trail, oldest first: the one its page loaded, or one query of its own."""
    trail = getattr(root, "_audit_trail", None)
    return trail if trail is not None else list(audit_trail(root).order_by("created_at", "id"))


class AuditTrailConnectionField(DjangoConnectionField):
    """Loads the audit trails of a whole page in one query, for callers who may read them."""

    @staticmethod
    def may_see_audit_trail(user) -> bool:
        """Subclasses name the domain's rule (a selector); nobody by default."""
        return False

    @classmethod
    def connection_resolver(cls, resolver, connection, default_manager, queryset_resolver, max_limit,
                            enforce_first_or_last, root, info, **args):
        result = super().connection_resolver(
            resolver, connection, default_manager, queryset_resolver, max_limit, enforce_first_or_last, root, info, **args
        )
        if cls.may_see_audit_trail(info.context.user):
            nodes = [edge.node for edge in result.edges]
            trails = audit_trails(nodes)
            for node in nodes:
                node._audit_trail = trails[node.pk]
        return result
