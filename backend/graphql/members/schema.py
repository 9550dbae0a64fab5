import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.exceptions import DomainError
from backend.members import selectors
from backend.members.models import Member

from ..core.lookups import filter_key
from ..core.nodes import get_node
from .mutations import MemberMutations
from .types import MemberType


class MemberFilterInput(graphene.InputObjectType):
    tier = graphene.ID(description="A MemberTier ID: its members only.")
    search = graphene.String(description="Part of the member's email.")


class MemberQueries(graphene.ObjectType):
    members = DjangoConnectionField(
        MemberType, filter=MemberFilterInput(),
        description="Members with their points balance and tier, oldest first (MANAGE_FINANCE; empty otherwise).",
    )
    member = graphene.Field(MemberType, id=graphene.ID(required=True), description="One member (MANAGE_FINANCE).")

    @staticmethod
    def resolve_members(_root, info, filter=None, **_kwargs):
        filter = filter or {}
        tier = filter_key(filter["tier"], "MemberTier") if filter.get("tier") else None
        return selectors.staff_members(info.context.user, tier_id=tier, search=filter.get("search"),
                                       queryset=Member.objects.all())

    @staticmethod
    def resolve_member(_root, info, id):
        try:
            return get_node(info, id, MemberType)
        except DomainError:  # not found or not visible: null either way
            return None


__all__ = ["MemberMutations", "MemberQueries"]
