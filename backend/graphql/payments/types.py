import graphene
from graphene_django import DjangoObjectType

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
