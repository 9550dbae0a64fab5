import graphene

from backend.core.permissions import PlatformPermission
from backend.disputes import services
from plugins.manager import get_plugins_manager

from ..core.mutations import BaseMutation
from ..core.nodes import get_node
from ..core.scalars import Upload
from .types import DisputeError, DisputeMessageType, DisputeOutcomeEnum, DisputeType


def _dispute(info, id):
    # Fetched through DisputeType.get_queryset: another vendor's dispute is NOT_FOUND.
    return get_node(info, id, DisputeType)


def _value(enum_member):
    return getattr(enum_member, "value", enum_member)


class DisputeRespondInput(graphene.InputObjectType):
    accept = graphene.Boolean(required=True, description="True refunds as requested (a return first, if any).")
    message = graphene.String(description="Required when rejecting: why.")
    evidence = graphene.List(graphene.NonNull(Upload), description="Pictures (JPEG, PNG, WebP, GIF), multipart.")


class DisputeRespond(BaseMutation):
    dispute = graphene.Field(DisputeType)

    class Arguments:
        id = graphene.ID(required=True)
        input = DisputeRespondInput(required=True)

    class Meta:
        description = "The vendor accepts the claim or rejects it with its reasons and evidence."
        error_type_class = DisputeError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        dispute = services.dispute_respond(
            actor=info.context.user,
            dispute=_dispute(info, id),
            accept=input.accept,
            message=input.get("message") or "",
            evidence=input.get("evidence") or [],
            manager=get_plugins_manager(info.context),
        )
        return cls(dispute=dispute, errors=[])


class DisputeReturnReceived(BaseMutation):
    dispute = graphene.Field(DisputeType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "The vendor confirms the goods sent back arrived: the agreed refund is made."
        error_type_class = DisputeError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        dispute = services.dispute_return_received(
            actor=info.context.user, dispute=_dispute(info, id), manager=get_plugins_manager(info.context)
        )
        return cls(dispute=dispute, errors=[])


class DisputeEscalate(BaseMutation):
    dispute = graphene.Field(DisputeType)

    class Arguments:
        id = graphene.ID(required=True)
        message = graphene.String(description="Why staff should look at it.")

    class Meta:
        description = (
            "Hand the dispute to platform staff: the vendor about returned goods, or staff (ARBITRATE_DISPUTES) "
            "at any waiting step."
        )
        error_type_class = DisputeError

    @classmethod
    def perform_mutation(cls, _root, info, id, message=None):
        dispute = services.dispute_escalate(
            actor=info.context.user, dispute=_dispute(info, id), message=message or "",
            manager=get_plugins_manager(info.context),
        )
        return cls(dispute=dispute, errors=[])


class DisputeResolveInput(graphene.InputObjectType):
    outcome = DisputeOutcomeEnum(required=True)
    refund_amount = graphene.Decimal(description="For REFUND_PARTIAL: at most the requested amount.")
    deposit_penalty = graphene.Decimal(description="Taken from the vendor's deposit.")
    penalty_to_shopper = graphene.Boolean(
        default_value=True, description="The penalty compensates the shopper (false: a fine to the platform)."
    )
    note = graphene.String(description="The ruling's reasons, posted on the thread.")


class DisputeResolve(BaseMutation):
    dispute = graphene.Field(DisputeType)

    class Arguments:
        id = graphene.ID(required=True)
        input = DisputeResolveInput(required=True)

    class Meta:
        description = "Staff rule on an escalated dispute: refund in full, in part, or reject; optional deposit penalty."
        error_type_class = DisputeError
        permission = PlatformPermission.ARBITRATE_DISPUTES

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        dispute = services.dispute_resolve(
            actor=info.context.user,
            dispute=_dispute(info, id),
            outcome=_value(input.outcome),
            refund_amount=input.get("refund_amount"),
            deposit_penalty=input.get("deposit_penalty"),
            penalty_to_buyer=input.get("penalty_to_shopper", True) is not False,
            note=input.get("note") or "",
            manager=get_plugins_manager(info.context),
        )
        return cls(dispute=dispute, errors=[])


class DisputeMessageInput(graphene.InputObjectType):
    body = graphene.String()
    evidence = graphene.List(graphene.NonNull(Upload), description="Pictures (JPEG, PNG, WebP, GIF), multipart.")


class DisputeMessageAdd(BaseMutation):
    dispute = graphene.Field(DisputeType)
    message = graphene.Field(DisputeMessageType)

    class Arguments:
        id = graphene.ID(required=True)
        input = DisputeMessageInput(required=True)

    class Meta:
        description = "Post on the dispute's thread as the vendor (or as staff), with optional evidence."
        error_type_class = DisputeError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        dispute = _dispute(info, id)
        message = services.dispute_message_add(
            actor=info.context.user, dispute=dispute, body=input.get("body") or "", evidence=input.get("evidence") or [],
        )
        dispute.refresh_from_db()
        return cls(dispute=dispute, message=message, errors=[])
