import graphene
from graphene_django import DjangoObjectType

from backend.core.permissions import PlatformPermission, has_permission
from backend.payments import models
from backend.payments.error_codes import PaymentErrorCode
from backend.payments.selectors import visible_payments

from ..core.types import CountableConnection, Money, choices_enum, error_type

PaymentError = error_type("PaymentError", PaymentErrorCode)

PaymentChargeStatusEnum = choices_enum("PaymentChargeStatus", models.PaymentStatus)
PaymentPurposeEnum = choices_enum("PaymentPurpose", models.PaymentPurpose)


class PaymentGateway(graphene.ObjectType):
    id = graphene.ID(required=True, description="The gateway's plugin id, e.g. dummy or stripe.")
    name = graphene.String(required=True)


class PaymentType(DjangoObjectType):
    status = PaymentChargeStatusEnum(required=True)
    purpose = PaymentPurposeEnum(required=True)
    amount = graphene.Field(Money, required=True)
    captured_amount = graphene.Field(Money, required=True)
    refunded_amount = graphene.Field(Money, required=True)

    class Meta:
        model = models.Payment
        name = "Payment"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "gateway", "psp_reference", "error_message", "created_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return visible_payments(info.context.user, queryset)

    @staticmethod
    def resolve_amount(root: models.Payment, _info):
        return root.total

    @staticmethod
    def resolve_captured_amount(root: models.Payment, _info):
        return root.captured

    @staticmethod
    def resolve_refunded_amount(root: models.Payment, _info):
        return root.refunded


MismatchKindEnum = choices_enum("ReconciliationMismatchKind", models.MismatchKind)
MismatchProblemEnum = choices_enum("ReconciliationMismatchProblem", models.MismatchProblem)


class ReconciliationMismatchType(DjangoObjectType):
    """A difference between a gateway's records of a day and the marketplace's (never corrected automatically)."""

    kind = MismatchKindEnum(required=True)
    problem = MismatchProblemEnum(required=True)
    day = graphene.Date(required=True, description="The day reconciled (in the platform's time zone).")
    our_amount = graphene.Field(Money, description="What the marketplace recorded; null when it has no record.")
    gateway_amount = graphene.Field(Money, description="What the gateway reports; null when it has no record.")
    payment_id = graphene.ID(description="The payment concerned (a Payment global ID), when there is one.")
    reviewed = graphene.Boolean(required=True)

    class Meta:
        model = models.ReconciliationMismatch
        name = "ReconciliationMismatch"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "gateway", "psp_reference", "our_status", "gateway_status",
            "detected_at", "last_seen_at", "reviewed_at", "review_note",
        )

    @classmethod
    def get_queryset(cls, queryset, info):
        if not has_permission(info.context.user, PlatformPermission.MANAGE_FINANCE):
            return queryset.none()
        return queryset

    @staticmethod
    def resolve_our_amount(root: models.ReconciliationMismatch, _info):
        if root.our_amount is None:
            return None
        return models._money(root.our_amount, root.our_currency)

    @staticmethod
    def resolve_gateway_amount(root: models.ReconciliationMismatch, _info):
        if root.gateway_amount is None:
            return None
        return models._money(root.gateway_amount, root.gateway_currency)

    @staticmethod
    def resolve_payment_id(root: models.ReconciliationMismatch, _info):
        return graphene.relay.Node.to_global_id("Payment", root.payment_id) if root.payment_id else None

    @staticmethod
    def resolve_reviewed(root: models.ReconciliationMismatch, _info):
        return root.reviewed_at is not None
