import graphene

from backend.core.exceptions import DomainError
from backend.payments.services import available_payment_gateways

from ..core.nodes import get_node
from .types import PaymentGateway, PaymentType


class PaymentQueries(graphene.ObjectType):
    payment = graphene.Field(PaymentType, id=graphene.ID(required=True), description="A payment the caller may see.")
    available_payment_gateways = graphene.List(
        graphene.NonNull(PaymentGateway), required=True, description="Active payment gateways."
    )

    @staticmethod
    def resolve_payment(_root, info, id):
        try:
            return get_node(info, id, PaymentType)
        except DomainError:
            return None

    @staticmethod
    def resolve_available_payment_gateways(_root, _info):
        return available_payment_gateways()
