import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.exceptions import DomainError
from backend.payments.services import available_payment_gateways

from ..core.nodes import get_node
from .types import PaymentGateway, PaymentType, ReconciliationMismatchType


class PaymentQueries(graphene.ObjectType):
    payment = graphene.Field(PaymentType, id=graphene.ID(required=True), description="A payment the caller may see.")
    available_payment_gateways = graphene.List(
        graphene.NonNull(PaymentGateway), required=True, description="Active payment gateways."
    )

    reconciliation_mismatches = DjangoConnectionField(
        ReconciliationMismatchType,
        date=graphene.Date(description="Only this reconciled day."),
        gateway=graphene.String(description="Only this gateway (its plugin id, e.g. alipay)."),
        reviewed=graphene.Boolean(description="Only reviewed (true) or not yet reviewed (false) mismatches."),
        description="What the daily reconciliation found, newest day first (MANAGE_FINANCE; empty otherwise).",
    )

    @staticmethod
    def resolve_reconciliation_mismatches(_root, _info, date=None, gateway=None, reviewed=None, **_kwargs):
        queryset = ReconciliationMismatchType._meta.model.objects.all()
        if date is not None:
            queryset = queryset.filter(day=date)
        if gateway:
            queryset = queryset.filter(gateway=gateway)
        if reviewed is not None:
            queryset = queryset.filter(reviewed_at__isnull=not reviewed)
        return queryset.order_by("-day", "gateway", "id")

    @staticmethod
    def resolve_payment(_root, info, id):
        try:
            return get_node(info, id, PaymentType)
        except DomainError:
            return None

    @staticmethod
    def resolve_available_payment_gateways(_root, _info):
        return available_payment_gateways()
