import graphene

from backend.members import selectors, services

from ..core.mutations import BaseMutation
from ..core.nodes import get_node
from .types import MemberError, MemberPointsEntryType, MemberType


class MemberPointsAdjust(BaseMutation):
    member = graphene.Field(MemberType)
    entry = graphene.Field(MemberPointsEntryType, description="The adjustment in the member's points history.")

    class Arguments:
        member = graphene.ID(required=True)
        points = graphene.Int(required=True, description="Above 0 grants, below 0 deducts (never below a balance of 0).")
        reason = graphene.String(required=True, description="Why: shown in the points history and the ledger.")
        idempotency_key = graphene.String(
            required=True, description="Repeat it to retry safely; scoped to you, so nobody else's key can clash."
        )

    class Meta:
        description = (
            "Grant or deduct a member's points, with a reason: one balanced ledger movement between the "
            "platform's points cost and its points liability. Needs MANAGE_FINANCE."
        )
        error_type_class = MemberError
        permission = selectors.MEMBERS_PERMISSION

    @classmethod
    def perform_mutation(cls, _root, info, member, points, reason, idempotency_key):
        found = get_node(info, member, MemberType, field="member")
        entry = services.points_adjust(
            actor=info.context.user, member=found, points=points, reason=reason, idempotency_key=idempotency_key
        )
        found.refresh_from_db()
        return cls(member=found, entry=entry, errors=[])


class MemberMutations(graphene.ObjectType):
    member_points_adjust = MemberPointsAdjust.Field()
