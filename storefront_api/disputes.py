"""Shoppers' disputes: open one on their own order, talk on its thread, escalate, withdraw, send goods back.

What a shopper may see is decided once, in Dispute.get_queryset (backend.disputes.selectors);
every move calls the same service as the core API and the staff console.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry.types import Info

from backend.core.exceptions import DomainError
from backend.disputes import models, selectors, services
from backend.disputes.error_codes import DisputeErrorCode
from backend.disputes.files import evidence_link_path
from backend.disputes.models import MessageRole
from backend.orders.selectors import shopper_orders
from plugins.manager import get_plugins_manager

from .catalog import CountedConnection
from .core import Money, current_user, error_type, run_mutation
from .ids import NO_KEY, key_of, key_or_not_found
from .orders import Order, OrderLine, OrderShipment, ShipmentStatus, TrackingEvent

DisputeError = error_type("DisputeError", DisputeErrorCode)


@strawberry.enum(name="DisputeStatus")
class DisputeStatus(Enum):
    OPEN = "open"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_BUYER = "awaiting_buyer"
    UNDER_ARBITRATION = "under_arbitration"
    AWAITING_RETURN = "awaiting_return"
    RETURN_SHIPPED = "return_shipped"
    RESOLVED = "resolved"
    CLOSED = "closed"


@strawberry.enum(name="DisputeReason")
class DisputeReason(Enum):
    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED = "damaged"
    NO_REASON_RETURN = "no_reason_return"


@strawberry.enum(name="DisputeKind")
class DisputeKind(Enum):
    REFUND_ONLY = "refund_only"
    RETURN_AND_REFUND = "return_and_refund"


@strawberry.enum(name="DisputeOutcome")
class DisputeOutcome(Enum):
    REFUND_FULL = "refund_full"
    REFUND_PARTIAL = "refund_partial"
    REJECT = "reject"


@strawberry.enum(name="DisputeRulingSource")
class DisputeRulingSource(Enum):
    VENDOR = "vendor"
    STAFF = "staff"
    AUTOMATIC = "automatic"
    WITHDRAWN = "withdrawn"


@strawberry.enum(name="DisputeRole")
class DisputeRole(Enum):
    SHOPPER = "shopper"
    VENDOR = "vendor"
    STAFF = "staff"
    SYSTEM = "system"


@strawberry.enum(name="DisputeEvidenceStatus")
class DisputeEvidenceStatus(Enum):
    PROCESSING = "processing"
    READY = "ready"


def _evidence_url(info: Info, evidence: models.DisputeEvidence, size: str) -> str | None:
    request = info.context.request
    path = evidence_link_path(evidence, size, viewer=getattr(request, "user", None))
    return request.build_absolute_uri(path) if path else None


_LINK_FIELDS = ["id", "renditions", "status", "original", "uploaded_by_id"]


@strawberry_django.type(
    models.DisputeEvidence,
    name="DisputeEvidence",
    description="An evidence picture, re-encoded. Private: its links are signed and expire.",
)
class DisputeEvidence:
    width: strawberry.auto
    height: strawberry.auto

    @strawberry_django.field(
        only=["status"],
        description=(
            "PROCESSING until the picture is re-encoded: meanwhile only you get links to your own upload, "
            "the store and staff none. READY: links to the re-encoded picture."
        ),
    )
    def status(self) -> DisputeEvidenceStatus:
        return DisputeEvidenceStatus(self.status)

    @strawberry_django.field(only=_LINK_FIELDS, description="A JPEG at most 200 pixels wide and high.")
    def thumbnail_url(self, info: Info) -> str | None:
        return _evidence_url(info, self, "thumbnail")

    @strawberry_django.field(only=_LINK_FIELDS, description="A JPEG at most 1600 pixels wide and high.")
    def url(self, info: Info) -> str | None:
        return _evidence_url(info, self, "large")


@strawberry_django.type(models.DisputeMessage, name="DisputeMessage")
class DisputeMessage:
    id: strawberry.auto
    body: strawberry.auto
    created_at: datetime
    evidence: list[DisputeEvidence]

    @strawberry_django.field(only=["role"], description="Who wrote it: you, the store, or platform staff.")
    def role(self) -> DisputeRole:
        return DisputeRole(self.role)


@strawberry_django.type(models.DisputeLine, name="DisputeLine")
class DisputeLine:
    quantity: strawberry.auto
    order_line: OrderLine


@strawberry.type(description="Who decided what.")
class DisputeRuling:
    outcome: DisputeOutcome | None
    source: DisputeRulingSource
    amount: Money | None
    note: str
    ruled_at: datetime | None
    deposit_penalty: Money | None = strawberry.field(description="Taken from the store's deposit.")
    compensated: bool = strawberry.field(description="Whether the deposit penalty was paid to you.")


RULING_FIELDS = [
    "ruling_outcome", "ruling_source", "ruling_amount", "ruling_note", "ruled_at", "deposit_penalty_amount",
    "deposit_penalty_to_buyer", "currency",
]


@strawberry_django.type(models.Dispute, name="Dispute")
class Dispute(relay.Node):
    """A claim about one of your orders, its thread and where it stands."""

    id: relay.NodeID[int]
    description: strawberry.auto
    deadline_at: datetime | None = strawberry_django.field(description="When the waiting side's time runs out.")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    order: Order
    lines: list[DisputeLine]
    messages: list[DisputeMessage] = strawberry_django.field(description="Oldest first.")

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.shopper_disputes(current_user(info), queryset)

    @strawberry_django.field(only=["status"])
    def status(self) -> DisputeStatus:
        return DisputeStatus(self.status)

    @strawberry_django.field(only=["reason"])
    def reason(self) -> DisputeReason:
        return DisputeReason(self.reason)

    @strawberry_django.field(only=["kind"])
    def kind(self) -> DisputeKind:
        return DisputeKind(self.kind)

    @strawberry_django.field(only=["requested_amount", "currency"])
    def requested(self) -> Money:
        return Money.from_value(self.requested)

    @strawberry_django.field(only=["refunded_amount", "currency"])
    def refunded(self) -> Money:
        return Money.from_value(self.refunded)

    @strawberry_django.field(only=["status"], description="You may hand the dispute to platform staff now.")
    def can_escalate(self) -> bool:
        return self.status in services.ESCALATE_FROM[MessageRole.SHOPPER]

    @strawberry_django.field(only=["status"], description="The store agreed: send the goods back and say how.")
    def awaiting_return_shipment(self) -> bool:
        return self.status == models.DisputeStatus.AWAITING_RETURN

    @strawberry_django.field(only=RULING_FIELDS)
    def ruling(self) -> DisputeRuling | None:
        if not self.ruling_source:
            return None
        penalty = self.deposit_penalty_amount
        return DisputeRuling(
            outcome=DisputeOutcome(self.ruling_outcome) if self.ruling_outcome else None,
            source=DisputeRulingSource(self.ruling_source),
            amount=None if self.ruling_amount is None else Money.from_value(self.money(self.ruling_amount)),
            note=self.ruling_note,
            ruled_at=self.ruled_at,
            deposit_penalty=None if penalty is None else Money.from_value(self.money(penalty)),
            compensated=bool(penalty and self.deposit_penalty_to_buyer),
        )

    @strawberry_django.field(
        select_related=["return_shipment"],
        prefetch_related=["return_shipment__events"],
        description="The parcel you sent back, with its tracking timeline.",
    )
    def return_shipment(self) -> OrderShipment | None:
        shipment = self.return_shipment
        if shipment is None:
            return None
        return OrderShipment(
            carrier=shipment.carrier_id,
            service_name=shipment.service_name,
            tracking_number=shipment.tracking_number,
            status=ShipmentStatus(shipment.status),
            promised_days=shipment.promised_days,
            delivered_at=shipment.delivered_at,
            events=[
                TrackingEvent(
                    status=ShipmentStatus(event.status),
                    occurred_at=event.occurred_at,
                    location=event.location,
                    description=event.description,
                )
                for event in shipment.events.all()
            ],
        )


@strawberry.input
class DisputeLineInput:
    line: relay.GlobalID = strawberry.field(description="An OrderLine of the order.")
    quantity: int


@strawberry.input
class DisputeOpenInput:
    reason: DisputeReason
    description: str
    requested_amount: Decimal = strawberry.field(
        description="At most what the lines cost plus their share of shipping, less earlier refunds."
    )
    kind: DisputeKind | None = strawberry.field(
        default=None, description="Default: RETURN_AND_REFUND for NO_REASON_RETURN, else REFUND_ONLY."
    )
    lines: list[DisputeLineInput] | None = strawberry.field(default=None, description="Default: the whole order.")
    evidence: list[Upload] | None = strawberry.field(default=None, description="Pictures, as multipart uploads.")


@strawberry.input
class DisputeMessageInput:
    body: str | None = None
    evidence: list[Upload] | None = None


@strawberry.input
class DisputeFilterInput:
    status: DisputeStatus | None = None


@strawberry.type
class DisputePayload:
    dispute: Dispute | None = None
    errors: list[DisputeError]


@strawberry.type
class DisputeMessagePayload:
    dispute: Dispute | None = None
    message: DisputeMessage | None = None
    errors: list[DisputeError]


def own_dispute(info: Info, global_id: relay.GlobalID) -> models.Dispute:
    """The shopper's own dispute, or NOT_FOUND (another shopper's dispute looks missing)."""
    pk = key_or_not_found(global_id, "Dispute", field="id")
    dispute = selectors.shopper_disputes(current_user(info)).filter(pk=pk).first()
    if dispute is None:
        raise DomainError(DisputeErrorCode.NOT_FOUND, "No such dispute.", field="id")
    return dispute


def _manager(info: Info):
    return get_plugins_manager(info.context.request)


@strawberry.type
class DisputeQuery:
    @strawberry_django.field(description="One of your disputes.")
    def dispute(self, id: relay.GlobalID) -> Dispute | None:
        pk = key_of(id, "Dispute")
        return None if pk is None else models.Dispute.objects.filter(pk=pk)

    @strawberry_django.connection(CountedConnection[Dispute], description="Your disputes, newest first.")
    def disputes(self, filter: DisputeFilterInput | None = None, order: relay.GlobalID | None = None) -> QuerySet[
        models.Dispute
    ]:
        queryset = models.Dispute.objects.order_by("-created_at", "-id")
        if filter is not None and filter.status is not None:
            queryset = queryset.filter(status=filter.status.value)
        if order is not None:
            order_pk = key_or_not_found(order, "Order", field="order") if order.type_name == "Order" else NO_KEY
            queryset = queryset.filter(order_id=order_pk)
        return queryset


@strawberry.type
class DisputeMutation:
    @strawberry.mutation(description="Dispute a paid order (or some of its lines): its money stays in escrow meanwhile.")
    def dispute_open(self, info: Info, order: relay.GlobalID, input: DisputeOpenInput) -> DisputePayload:
        def action():
            user = current_user(info)
            found = shopper_orders(user).filter(pk=key_or_not_found(order, "Order", field="order")).first()
            if found is None:
                raise DomainError(DisputeErrorCode.NOT_FOUND, "No such order.", field="order")
            lines = [
                services.LineInput(key_or_not_found(item.line, "OrderLine", field="lines"), item.quantity)
                for item in input.lines or []
            ]
            return {
                "dispute": services.dispute_open(
                    actor=user,
                    order=found,
                    reason=input.reason.value,
                    kind=input.kind.value if input.kind else None,
                    description=input.description,
                    requested_amount=input.requested_amount,
                    lines=lines or None,
                    evidence=input.evidence or [],
                    manager=_manager(info),
                )
            }

        return run_mutation(DisputePayload, DisputeError, action)

    @strawberry.mutation(description="Write on the dispute's thread, with optional pictures.")
    def dispute_message_add(self, info: Info, id: relay.GlobalID, input: DisputeMessageInput) -> DisputeMessagePayload:
        def action():
            dispute = own_dispute(info, id)
            message = services.dispute_message_add(
                actor=current_user(info), dispute=dispute, body=input.body or "", evidence=input.evidence or [],
                role=MessageRole.SHOPPER,
            )
            return {"dispute": dispute, "message": message}

        return run_mutation(DisputeMessagePayload, DisputeError, action)

    @strawberry.mutation(description="The store rejected your claim: ask platform staff to decide.")
    def dispute_escalate(self, info: Info, id: relay.GlobalID, message: str | None = None) -> DisputePayload:
        return run_mutation(
            DisputePayload,
            DisputeError,
            lambda: {
                "dispute": services.dispute_escalate(
                    actor=current_user(info), dispute=own_dispute(info, id), message=message or "",
                    manager=_manager(info),
                )
            },
        )

    @strawberry.mutation(description="Give up the claim: the order's money goes to the store as usual.")
    def dispute_withdraw(self, info: Info, id: relay.GlobalID, message: str | None = None) -> DisputePayload:
        return run_mutation(
            DisputePayload,
            DisputeError,
            lambda: {
                "dispute": services.dispute_withdraw(
                    actor=current_user(info), dispute=own_dispute(info, id), message=message or "",
                    manager=_manager(info),
                )
            },
        )

    @strawberry.mutation(description="You sent the goods back: name the carrier and the tracking number.")
    def dispute_return_ship(
        self,
        info: Info,
        id: relay.GlobalID,
        carrier: str,
        tracking_number: str,
        service_code: str | None = None,
    ) -> DisputePayload:
        return run_mutation(
            DisputePayload,
            DisputeError,
            lambda: {
                "dispute": services.dispute_return_ship(
                    actor=current_user(info), dispute=own_dispute(info, id), carrier=carrier,
                    tracking_number=tracking_number, service_code=service_code, manager=_manager(info),
                )
            },
        )


__all__ = ["Dispute", "DisputeMutation", "DisputeQuery"]
