import graphene
from django.conf import settings
from graphene_django import DjangoObjectType

from backend.core.money import Money as MoneyValue
from backend.core.money import quantize
from backend.disputes import models, policy, selectors
from backend.disputes.error_codes import DisputeErrorCode
from backend.disputes.files import EVIDENCE_SIZES, evidence_link_path
from plugins.manager import get_plugins_manager

from ..core.types import CountableConnection, Money, choices_enum, error_type
from ..logistics.types import ShipmentType
from ..orders.types import OrderLineType, OrderType
from ..vendor.types import VendorType

DisputeError = error_type("DisputeError", DisputeErrorCode)


DisputeStatusEnum = choices_enum("DisputeStatus", models.DisputeStatus)
DisputeReasonEnum = choices_enum("DisputeReason", models.DisputeReason)
DisputeKindEnum = choices_enum("DisputeKind", models.DisputeKind)
DisputeOutcomeEnum = choices_enum("DisputeOutcome", models.RulingOutcome)
DisputeRulingSourceEnum = choices_enum("DisputeRulingSource", models.RulingSource)
DisputeRoleEnum = choices_enum("DisputeRole", models.MessageRole)
DisputeEvidenceStatusEnum = choices_enum("DisputeEvidenceStatus", models.EvidenceStatus)


class DisputeEvidenceRendition(graphene.ObjectType):
    size = graphene.String(required=True, description="thumbnail or large.")
    format = graphene.String(required=True, description="webp or jpeg.")
    url = graphene.String(required=True, description="Signed link; it expires, so fetch the dispute again for a new one.")


def evidence_url(info, evidence: models.DisputeEvidence, size: str, fmt: str = "jpeg") -> str | None:
    path = evidence_link_path(evidence, size, fmt, viewer=getattr(info.context, "user", None))
    return info.context.build_absolute_uri(path) if path else None


class DisputeEvidenceType(graphene.ObjectType):
    width = graphene.Int(required=True, description="Of the uploaded picture.")
    height = graphene.Int(required=True)
    status = DisputeEvidenceStatusEnum(
        required=True,
        description=(
            "PROCESSING until the worker has re-encoded the picture: meanwhile only its uploader gets links "
            "(to the upload as it came), everyone else none. READY: links to the renditions."
        ),
    )
    thumbnail_url = graphene.String(
        description="A JPEG at most 200 pixels wide and high (signed link, expires); null while processing."
    )
    url = graphene.String(
        description="A JPEG at most 1600 pixels wide and high (signed link, expires); null while processing."
    )
    renditions = graphene.List(
        graphene.NonNull(DisputeEvidenceRendition), required=True, description="Empty while processing."
    )

    class Meta:
        name = "DisputeEvidence"
        description = (
            "An evidence picture, re-encoded without its metadata. Private: served only through signed links "
            "that expire, handed to the dispute's parties and arbitration staff."
        )

    @staticmethod
    def resolve_status(root: models.DisputeEvidence, _info):
        return models.EvidenceStatus(root.status).value

    @staticmethod
    def resolve_thumbnail_url(root: models.DisputeEvidence, info):
        return evidence_url(info, root, "thumbnail")

    @staticmethod
    def resolve_url(root: models.DisputeEvidence, info):
        return evidence_url(info, root, "large")

    @staticmethod
    def resolve_renditions(root: models.DisputeEvidence, info):
        if root.status != models.EvidenceStatus.READY:
            return []
        return [
            DisputeEvidenceRendition(size=size, format=fmt, url=evidence_url(info, root, size, fmt))
            for size, formats in root.renditions.items()
            if size in EVIDENCE_SIZES
            for fmt in formats
        ]


class DisputeMessageType(graphene.ObjectType):
    id = graphene.ID(required=True)
    role = DisputeRoleEnum(required=True, description="Who wrote it: the shopper, the vendor or platform staff.")
    body = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)
    evidence = graphene.List(graphene.NonNull(DisputeEvidenceType), required=True)

    class Meta:
        name = "DisputeMessage"

    @staticmethod
    def resolve_id(root: models.DisputeMessage, _info):
        return str(root.pk)

    @staticmethod
    def resolve_role(root: models.DisputeMessage, _info):
        return models.MessageRole(root.role).value

    @staticmethod
    def resolve_evidence(root: models.DisputeMessage, _info):
        return root.evidence.all()


class DisputeLineType(graphene.ObjectType):
    order_line = graphene.Field(OrderLineType, required=True)
    quantity = graphene.Int(required=True)

    class Meta:
        name = "DisputeLine"

    @staticmethod
    def resolve_order_line(root: models.DisputeLine, _info):
        return root.order_line


class DisputeRuling(graphene.ObjectType):
    outcome = DisputeOutcomeEnum(description="Null when the shopper withdrew.")
    source = DisputeRulingSourceEnum(required=True)
    amount = graphene.Field(Money, description="The refund granted.")
    note = graphene.String(required=True)
    ruled_at = graphene.DateTime(required=True)
    deposit_penalty = graphene.Field(Money, description="Taken from the vendor's deposit.")
    penalty_to_shopper = graphene.Boolean(description="Whether the penalty compensated the shopper.")


class DisputeSuggestion(graphene.ObjectType):
    outcome = DisputeOutcomeEnum(description="Null when the policy has no view.")
    amount = graphene.Field(Money)
    deposit_penalty = graphene.Field(Money)
    reason = graphene.String(required=True)


class DisputeType(DjangoObjectType):
    status = DisputeStatusEnum(required=True)
    reason = DisputeReasonEnum(required=True)
    kind = DisputeKindEnum(required=True)
    requested = graphene.Field(Money, required=True, description="What the shopper asks back.")
    refundable = graphene.Field(Money, required=True, description="The most this dispute may refund.")
    refunded = graphene.Field(Money, required=True)
    commission_returned = graphene.Field(Money, required=True, description="Commission the platform gave back.")
    order = graphene.Field(OrderType, required=True)
    vendor = graphene.Field(VendorType, required=True)
    lines = graphene.List(graphene.NonNull(DisputeLineType), required=True)
    messages = graphene.List(graphene.NonNull(DisputeMessageType), required=True, description="Oldest first.")
    ruling = graphene.Field(DisputeRuling)
    return_shipment = graphene.Field(ShipmentType, description="The parcel the shopper sent back.")
    suggestion = graphene.Field(
        DisputeSuggestion, description="The arbitration policy's advice (staff with ARBITRATE_DISPUTES only)."
    )

    class Meta:
        model = models.Dispute
        name = "Dispute"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "description", "deadline_at", "status_changed_at", "vendor_responded_at", "escalated_at",
            "refunded_at", "return_received_at", "created_at", "updated_at", "closed_at",
        )
        description = "A shopper's claim about an order, its thread, its deadline and its ruling."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_disputes(info.context.user, queryset)

    @staticmethod
    def resolve_status(root, _info):
        return models.DisputeStatus(root.status).value

    @staticmethod
    def resolve_reason(root, _info):
        return models.DisputeReason(root.reason).value

    @staticmethod
    def resolve_kind(root, _info):
        return models.DisputeKind(root.kind).value

    @staticmethod
    def resolve_requested(root, _info):
        return root.requested

    @staticmethod
    def resolve_refundable(root, _info):
        return root.refundable

    @staticmethod
    def resolve_refunded(root, _info):
        return root.refunded

    @staticmethod
    def resolve_commission_returned(root, _info):
        return root.money(root.commission_returned_amount)

    @staticmethod
    def resolve_order(root, _info):
        return root.order

    @staticmethod
    def resolve_vendor(root, _info):
        return root.vendor

    @staticmethod
    def resolve_lines(root, _info):
        return root.lines.all()

    @staticmethod
    def resolve_messages(root, _info):
        return root.messages.all()

    @staticmethod
    def resolve_ruling(root: models.Dispute, _info):
        if not root.ruling_source:
            return None
        return ruling_of(root)

    @staticmethod
    def resolve_return_shipment(root, _info):
        return root.return_shipment

    @staticmethod
    def resolve_suggestion(root, info):
        if not selectors.arbitrates(info.context.user) or not root.is_active:
            return None
        suggestion = policy.suggested_outcome(root, manager=get_plugins_manager(info.context))
        if suggestion is None:
            return None
        return DisputeSuggestion(
            outcome=str(suggestion.outcome) if suggestion.outcome in models.RulingOutcome.values else None,
            amount=suggestion.amount,
            deposit_penalty=suggestion.deposit_penalty,
            reason=suggestion.reason,
        )


def ruling_of(dispute: models.Dispute) -> DisputeRuling:
    penalty = dispute.deposit_penalty_amount
    return DisputeRuling(
        outcome=models.RulingOutcome(dispute.ruling_outcome).value if dispute.ruling_outcome else None,
        source=models.RulingSource(dispute.ruling_source).value,
        amount=None if dispute.ruling_amount is None else dispute.money(dispute.ruling_amount),
        note=dispute.ruling_note,
        ruled_at=dispute.ruled_at,
        deposit_penalty=None if penalty is None else dispute.money(penalty),
        penalty_to_shopper=None if penalty is None else dispute.deposit_penalty_to_buyer,
    )


class VendorDisputeStats(graphene.ObjectType):
    vendor = graphene.Field(VendorType, required=True)
    days = graphene.Int(required=True, description="Orders paid in this many last days are counted.")
    paid_orders = graphene.Int(required=True)
    disputed_orders = graphene.Int(required=True)
    refunded_disputes = graphene.Int(required=True, description="Disputes that ended in a refund.")
    refunded_amount = graphene.Field(Money, required=True)
    dispute_rate = graphene.Decimal(required=True, description="Disputed orders / paid orders (0.0250 = 2.5%).")
    refund_rate = graphene.Decimal(required=True, description="Disputes refunded / paid orders.")


def vendor_dispute_stats_for(info, vendor, days: int = 30) -> VendorDisputeStats | None:
    """A vendor's dispute statistics for those who may see them (its staff, arbitration staff), else None."""
    if vendor is None or not selectors.may_see_dispute_stats(info.context.user, vendor):
        return None
    stats = selectors.vendor_dispute_stats(vendor, days=max(1, min(int(days), 365)))
    return VendorDisputeStats(
        vendor=vendor,
        days=stats.days,
        paid_orders=stats.paid_orders,
        disputed_orders=stats.disputed_orders,
        refunded_disputes=stats.refunded_disputes,
        refunded_amount=MoneyValue(quantize(stats.refunded_amount), settings.DEFAULT_CURRENCY),
        dispute_rate=stats.dispute_rate,
        refund_rate=stats.refund_rate,
    )
