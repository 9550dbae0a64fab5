"""Dispute services: opening rules, each party's moves, staff rulings, permissions and the audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time
from PIL import Image

from backend.core.audit import audit_trail
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.core.storage import private_storage
from backend.disputes import services
from backend.disputes.models import DisputeEvidence, DisputeStatus as S, MessageRole, RulingSource
from backend.disputes.services import LineInput
from backend.logistics.models import Shipment
from backend.orders import services as orders

from ..checkout.helpers import TABLE_RATE
from ..conftest import make_user
from .helpers import (
    assert_ledger_sound,
    deliver,
    deposit,
    fresh,
    make_world,
    open_dispute,
    pending,
    refunds_of,
    release,
    ship,
    top_up_deposit,
    upload,
)

pytestmark = pytest.mark.django_db


def code(exc_info) -> str:
    return exc_info.value.code.name


def actions(obj) -> list[str]:
    return [entry.action for entry in audit_trail(obj).order_by("created_at", "id")]


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def arbiter(staff_factory):
    return staff_factory(PlatformPermission.ARBITRATE_DISPUTES)


def rejected(world, **kwargs):
    dispute = open_dispute(world, **kwargs)
    return services.dispute_respond(actor=world.owner, dispute=dispute, accept=False, message="It is as described.")


def escalated(world, **kwargs):
    return services.dispute_escalate(actor=world.shopper, dispute=rejected(world, **kwargs), message="Please look.")


# --- Opening -------------------------------------------------------------------------


def test_open_freezes_the_release_and_waits_for_the_vendor(world):
    assert world.order.total_amount == Decimal("218.00")  # 2 x 50 + 100 + 18 shipping
    dispute = open_dispute(world, evidence=[upload()])
    dispute = fresh(dispute)
    assert dispute.status == S.AWAITING_VENDOR
    assert dispute.deadline_at == dispute.status_changed_at + timedelta(hours=72)
    assert dispute.refundable_amount == Decimal("218.00")
    assert dispute.order.release_frozen
    (message,) = dispute.messages.all()
    assert (message.role, message.body, message.evidence.count()) == (MessageRole.SHOPPER, dispute.description, 1)
    assert actions(dispute) == ["dispute.open"]


def test_a_frozen_order_is_not_released_by_confirmation(world):
    ship(world)
    open_dispute(world)
    with pytest.raises(DomainError) as exc_info:
        orders.order_confirm_receipt(actor=world.shopper, order=world.order)
    assert code(exc_info) == "RELEASE_FROZEN"


def test_requested_amount_is_at_most_the_lines_and_their_shipping(world):
    tea_line = world.order.lines.get(variant=world.tea)
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world, amount="109.01", lines=[LineInput(tea_line.pk, 2)])
    assert (code(exc_info), exc_info.value.field) == ("AMOUNT_TOO_HIGH", "requestedAmount")
    dispute = open_dispute(world, amount="109.00", lines=[LineInput(tea_line.pk, 2)])
    assert dispute.refundable_amount == Decimal("109.00")  # 100 of goods + half of the 18 shipping
    assert [(line.order_line_id, line.quantity) for line in dispute.lines.all()] == [(tea_line.pk, 2)]


@pytest.mark.parametrize(
    "lines, amount, expected",
    [
        ([("tea", 3)], "1.00", "INVALID"),
        ([("tea", 0)], "1.00", "INVALID"),
        ([("tea", 1), ("tea", 1)], "1.00", "NOT_FOUND"),
        ([("other", 1)], "1.00", "NOT_FOUND"),
        (None, "0", "INVALID"),
        (None, "-1.00", "INVALID"),
        (None, "1.001", "INVALID"),
        (None, "abc", "INVALID"),
        (None, "", "REQUIRED"),
    ],
)
def test_bad_lines_and_amounts_are_refused(world, lines, amount, expected):
    other = make_world().order.lines.first()
    ids = {"tea": world.order.lines.get(variant=world.tea).pk, "other": other.pk}
    wanted = [LineInput(ids[name], quantity) for name, quantity in lines] if lines else None
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world, amount=amount, lines=wanted)
    assert code(exc_info) == expected


def test_only_the_shopper_of_a_paid_order_may_open_once(world):
    with pytest.raises(DomainError) as exc_info:
        services.dispute_open(actor=make_user(), order=world.order, reason="damaged", description="x", requested_amount="1")
    assert code(exc_info) == "NOT_FOUND"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_open(actor=world.owner, order=world.order, reason="damaged", description="x", requested_amount="1")
    assert code(exc_info) == "NOT_FOUND"
    open_dispute(world)
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world)
    assert code(exc_info) == "DISPUTE_ALREADY_OPEN"


def test_cancelled_orders_cannot_be_disputed(world):
    orders.order_cancel(actor=world.shopper, order=world.order, reason="changed my mind")
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world)
    assert code(exc_info) == "ORDER_NOT_PAID"


@pytest.mark.parametrize(
    "reason, kind, field",
    [("not_received", "return_and_refund", "kind"), ("no_reason_return", "refund_only", "kind"), ("lost", None, "reason")],
)
def test_reason_and_kind_must_fit(world, reason, kind, field):
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world, reason=reason, kind=kind)
    assert (code(exc_info), exc_info.value.field) == ("INVALID", field)


def test_window_closes_days_after_completion(world, settings):
    settings.DISPUTE_WINDOW_DAYS_AFTER_COMPLETION = 15
    start = timezone.now()
    with freeze_time(start):
        release(world)
    with freeze_time(start + timedelta(days=15, hours=-1)):
        dispute = open_dispute(world)
        services.dispute_withdraw(actor=world.shopper, dispute=dispute)
    with freeze_time(start + timedelta(days=15, hours=1)):
        with pytest.raises(DomainError) as exc_info:
            open_dispute(world)
    assert code(exc_info) == "DISPUTE_WINDOW_CLOSED"


def test_no_reason_return_within_seven_days_of_delivery_for_allowed_categories(world):
    tea_line = world.order.lines.get(variant=world.tea)
    tea_only = [LineInput(tea_line.pk, 1)]
    with pytest.raises(DomainError) as exc_info:  # not delivered yet
        open_dispute(world, reason="no_reason_return", lines=tea_only)
    assert code(exc_info) == "NO_REASON_RETURN_NOT_ALLOWED"
    start = timezone.now()
    with freeze_time(start):
        ship(world)
        deliver(world.order)
    with freeze_time(start + timedelta(days=6)):
        with pytest.raises(DomainError) as exc_info:  # the teapot's category refuses them
            open_dispute(world, reason="no_reason_return")
        assert (code(exc_info), exc_info.value.field) == ("NO_REASON_RETURN_NOT_ALLOWED", "lines")
        dispute = open_dispute(world, reason="no_reason_return", lines=tea_only, amount="50.00")
        assert dispute.kind == "return_and_refund"
        services.dispute_withdraw(actor=world.shopper, dispute=dispute)
    with freeze_time(start + timedelta(days=7, hours=1)):
        with pytest.raises(DomainError) as exc_info:
            open_dispute(world, reason="no_reason_return", lines=tea_only)
    assert code(exc_info) == "NO_REASON_RETURN_NOT_ALLOWED"


def test_evidence_is_checked_and_reencoded_without_metadata(world, make_image, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(DomainError) as exc_info:
        open_dispute(world, evidence=[SimpleUploadedFile("x.png", make_image(fmt="BMP"))])
    assert (code(exc_info), exc_info.value.field) == ("UNSUPPORTED_FILE_TYPE", "evidence")
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world, evidence=[SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n broken")])
    assert code(exc_info) == "INVALID_IMAGE"
    settings.DISPUTE_MAX_EVIDENCE_IMAGES = 2
    with pytest.raises(DomainError) as exc_info:
        open_dispute(world, evidence=[upload(), upload(), upload()])
    assert code(exc_info) == "TOO_MANY_FILES"
    assert not DisputeEvidence.objects.exists()

    dispute = open_dispute(world, evidence=[upload(size=(3000, 2000), fmt="JPEG")])
    evidence = DisputeEvidence.objects.get(message__dispute=dispute)
    assert (evidence.width, evidence.height) == (3000, 2000)
    assert set(evidence.renditions) == {"thumbnail", "large"}
    with private_storage().open(evidence.renditions["large"]["jpeg"]) as stored:
        picture = Image.open(stored)
        assert picture.size == (1600, 1067) and not picture.getexif()
    with private_storage().open(evidence.renditions["thumbnail"]["webp"]) as stored:
        assert Image.open(stored).format == "WEBP"


# --- The parties ---------------------------------------------------------------------


def test_vendor_accepts_a_refund_only_claim(world):
    dispute = open_dispute(world, amount="30.00")
    dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=True, message="Sorry.")
    assert dispute.status == S.RESOLVED
    assert (dispute.ruling_outcome, dispute.ruling_source, dispute.refunded_amount) == ("refund_full", "vendor", Decimal("30.00"))
    assert refunds_of(world.shopper) == Decimal("30.00")
    assert pending(world.vendor) == Decimal("188.00")
    order = fresh(dispute).order
    assert (order.refunded_amount, order.release_frozen, order.payment_status) == (
        Decimal("30.00"), False, "partially_refunded",
    )
    assert order.payment.refunded_amount == Decimal("30.00")
    assert actions(dispute) == ["dispute.open", "dispute.vendor_accept"]
    assert "order.refund" in actions(order)
    assert_ledger_sound()


def test_vendor_rejects_with_reasons_then_shopper_escalates_and_staff_rule(world, arbiter):
    dispute = open_dispute(world)
    with pytest.raises(DomainError) as exc_info:
        services.dispute_respond(actor=world.owner, dispute=dispute, accept=False)
    assert (code(exc_info), exc_info.value.field) == ("REQUIRED", "message")
    dispute = services.dispute_respond(
        actor=world.owner, dispute=dispute, accept=False, message="As described.", evidence=[upload()]
    )
    assert dispute.status == S.AWAITING_BUYER
    assert dispute.deadline_at == dispute.status_changed_at + timedelta(hours=168)
    dispute = services.dispute_escalate(actor=world.shopper, dispute=dispute, message="It is not.")
    assert dispute.status == S.UNDER_ARBITRATION and dispute.escalated_at
    dispute = services.dispute_resolve(actor=arbiter, dispute=dispute, outcome="refund_partial", refund_amount="12.50",
                                       note="Half of the claim.")
    assert dispute.status == S.RESOLVED
    assert (dispute.ruling_source, dispute.ruled_by, dispute.ruling_amount) == (RulingSource.STAFF, arbiter, Decimal("12.50"))
    assert refunds_of(world.shopper) == Decimal("12.50")
    assert [m.role for m in dispute.messages.all()] == ["shopper", "vendor", "shopper", "staff"]
    assert actions(dispute) == [
        "dispute.open", "dispute.vendor_reject", "dispute.escalate", "dispute.resolve",
    ]
    assert audit_trail(dispute).first().actor == arbiter
    assert not fresh(dispute).order.release_frozen


def test_staff_reject_keeps_the_money_with_the_vendor(world, arbiter):
    dispute = services.dispute_resolve(actor=arbiter, dispute=escalated(world), outcome="reject", note="No proof.")
    assert (dispute.status, dispute.ruling_outcome, dispute.refunded_amount) == (S.RESOLVED, "reject", 0)
    assert pending(world.vendor) == Decimal("218.00")
    assert not fresh(dispute).order.release_frozen


@pytest.mark.parametrize(
    "outcome, amount, expected",
    [
        ("refund_partial", None, "REQUIRED"),
        ("refund_partial", "30.01", "AMOUNT_TOO_HIGH"),
        ("refund_partial", "0", "INVALID"),
        ("reject", "1.00", "INVALID"),
        ("split", None, "INVALID"),
    ],
)
def test_resolve_input_is_checked(world, arbiter, outcome, amount, expected):
    dispute = escalated(world, amount="30.00")
    with pytest.raises(DomainError) as exc_info:
        services.dispute_resolve(actor=arbiter, dispute=dispute, outcome=outcome, refund_amount=amount)
    assert code(exc_info) == expected


def test_staff_may_escalate_and_only_arbiters_resolve(world, arbiter, staff_factory):
    dispute = open_dispute(world)
    with pytest.raises(DomainError) as exc_info:  # the vendor answers first
        services.dispute_escalate(actor=world.shopper, dispute=dispute)
    assert code(exc_info) == "INVALID_TRANSITION"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_resolve(actor=arbiter, dispute=dispute, outcome="reject")
    assert code(exc_info) == "INVALID_TRANSITION"
    dispute = services.dispute_escalate(actor=arbiter, dispute=dispute, message="Taking this over.")
    assert dispute.status == S.UNDER_ARBITRATION
    for outsider in (staff_factory(PlatformPermission.MANAGE_ORDERS), world.owner, world.shopper):
        with pytest.raises(DomainError) as exc_info:
            services.dispute_resolve(actor=outsider, dispute=dispute, outcome="reject")
        assert code(exc_info) == "PERMISSION_DENIED"


def test_outsiders_see_nothing_and_sides_cannot_swap(world):
    dispute = open_dispute(world)
    other = make_world()
    for outsider in (other.owner, other.shopper, make_user()):
        with pytest.raises(DomainError) as exc_info:
            services.dispute_respond(actor=outsider, dispute=dispute, accept=True)
        assert code(exc_info) == "NOT_FOUND"
        with pytest.raises(DomainError) as exc_info:
            services.dispute_message_add(actor=outsider, dispute=dispute, body="hi")
        assert code(exc_info) == "NOT_FOUND"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_respond(actor=world.shopper, dispute=dispute, accept=True)
    assert code(exc_info) == "PERMISSION_DENIED"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_withdraw(actor=world.owner, dispute=dispute)
    assert code(exc_info) == "PERMISSION_DENIED"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_return_ship(actor=world.owner, dispute=dispute, carrier=TABLE_RATE, tracking_number="X")
    assert code(exc_info) == "PERMISSION_DENIED"


@pytest.mark.parametrize("stage", ["awaiting_vendor", "awaiting_buyer", "under_arbitration", "awaiting_return"])
def test_shopper_withdraws_and_the_release_thaws(world, arbiter, stage):
    dispute = open_dispute(world, reason="damaged", kind="return_and_refund")
    if stage == "awaiting_buyer":
        dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=False, message="No.")
    elif stage == "under_arbitration":
        dispute = services.dispute_escalate(actor=arbiter, dispute=dispute)
    elif stage == "awaiting_return":
        dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    assert dispute.status == stage
    dispute = services.dispute_withdraw(actor=world.shopper, dispute=dispute, message="Solved it with the seller.")
    assert (dispute.status, dispute.ruling_source, dispute.deadline_at) == (S.CLOSED, RulingSource.WITHDRAWN, None)
    assert not fresh(dispute).order.release_frozen
    assert refunds_of(world.shopper) == 0
    for move in (
        lambda: services.dispute_withdraw(actor=world.shopper, dispute=dispute),
        lambda: services.dispute_escalate(actor=arbiter, dispute=dispute),
        lambda: services.dispute_message_add(actor=world.shopper, dispute=dispute, body="again"),
    ):
        with pytest.raises(DomainError) as exc_info:
            move()
        assert code(exc_info) == "INVALID_TRANSITION"


def test_return_and_refund_goes_through_the_return_leg(world):
    tea_line = world.order.lines.get(variant=world.tea)
    ship(world)
    deliver(world.order)
    dispute = open_dispute(world, reason="damaged", kind="return_and_refund", amount="50.00",
                           lines=[LineInput(tea_line.pk, 1)])
    dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    assert (dispute.status, dispute.refunded_amount) == (S.AWAITING_RETURN, 0)
    assert fresh(dispute).order.release_frozen
    with pytest.raises(DomainError) as exc_info:
        services.dispute_return_received(actor=world.owner, dispute=dispute)
    assert code(exc_info) == "INVALID_TRANSITION"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier="nobody", tracking_number="R1")
    assert code(exc_info) == "CARRIER_NOT_FOUND"
    dispute = services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier=TABLE_RATE, tracking_number="RT-1")
    assert dispute.status == S.RETURN_SHIPPED
    shipment = Shipment.objects.get(reference=f"return:{dispute.pk}")
    assert (shipment.tracking_number, shipment.vendor_id, shipment.destination_code) == ("RT-1", world.vendor.pk, "330100")
    assert dispute.return_shipment == shipment
    with pytest.raises(DomainError) as exc_info:
        services.dispute_withdraw(actor=world.shopper, dispute=dispute)
    assert code(exc_info) == "INVALID_TRANSITION"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_return_received(actor=world.shopper, dispute=dispute)
    assert code(exc_info) == "PERMISSION_DENIED"
    dispute = services.dispute_return_received(actor=world.owner, dispute=dispute)
    assert (dispute.status, dispute.refunded_amount, dispute.return_received_at is not None) == (S.RESOLVED, Decimal("50.00"), True)
    assert refunds_of(world.shopper) == Decimal("50.00")
    assert not fresh(dispute).order.release_frozen
    assert actions(dispute) == [
        "dispute.open", "dispute.vendor_accept", "dispute.return_ship", "dispute.return_received",
    ]


def test_vendor_escalates_a_problem_with_the_returned_goods(world, arbiter):
    dispute = open_dispute(world, reason="damaged", kind="return_and_refund", amount="40.00")
    dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    dispute = services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier=TABLE_RATE, tracking_number="RT-2")
    dispute = services.dispute_escalate(actor=world.owner, dispute=dispute, message="The box came back empty.")
    assert dispute.status == S.UNDER_ARBITRATION
    dispute = services.dispute_resolve(actor=arbiter, dispute=dispute, outcome="refund_full", note="Carrier lost it.")
    # The goods were already sent back, so the refund is made at once.
    assert (dispute.status, dispute.refunded_amount) == (S.RESOLVED, Decimal("40.00"))


def test_staff_refund_on_a_return_waits_for_the_goods(world, arbiter):
    dispute = services.dispute_escalate(
        actor=world.shopper,
        dispute=services.dispute_respond(
            actor=world.owner,
            dispute=open_dispute(world, reason="not_as_described", kind="return_and_refund", amount="60.00"),
            accept=False,
            message="No.",
        ),
    )
    dispute = services.dispute_resolve(actor=arbiter, dispute=dispute, outcome="refund_partial", refund_amount="45.00")
    assert (dispute.status, dispute.ruling_amount, dispute.refunded_amount) == (S.AWAITING_RETURN, Decimal("45.00"), 0)
    dispute = services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier=TABLE_RATE, tracking_number="RT-3")
    dispute = services.dispute_return_received(actor=arbiter, dispute=dispute)
    assert (dispute.status, dispute.refunded_amount) == (S.RESOLVED, Decimal("45.00"))


def test_messages_from_every_side(world, arbiter):
    dispute = open_dispute(world)
    services.dispute_message_add(actor=world.owner, dispute=dispute, body="Can you send a photo?")
    services.dispute_message_add(actor=world.shopper, dispute=dispute, evidence=[upload()], role=MessageRole.SHOPPER)
    services.dispute_message_add(actor=arbiter, dispute=dispute, body="Noted.")
    with pytest.raises(DomainError) as exc_info:
        services.dispute_message_add(actor=world.shopper, dispute=dispute, body="  ")
    assert code(exc_info) == "REQUIRED"
    with pytest.raises(DomainError) as exc_info:
        services.dispute_message_add(actor=world.owner, dispute=dispute, body="as shopper", role=MessageRole.SHOPPER)
    assert code(exc_info) == "PERMISSION_DENIED"
    roles = [(m.role, m.evidence.count()) for m in dispute.messages.all()]
    assert roles == [("shopper", 0), ("vendor", 0), ("shopper", 1), ("staff", 0)]


# --- Deposit penalties -----------------------------------------------------------------


def test_deposit_penalty_to_the_shopper_or_the_platform(world, arbiter):
    top_up_deposit(world.vendor, "500.00")
    dispute = services.dispute_resolve(
        actor=arbiter, dispute=escalated(world, amount="30.00"), outcome="refund_full", deposit_penalty="20.00",
        note="Fake goods.",
    )
    assert (dispute.deposit_penalty_amount, dispute.deposit_penalty_to_buyer) == (Decimal("20.00"), True)
    assert deposit(world.vendor) == Decimal("480.00")
    assert refunds_of(world.shopper) == Decimal("50.00")  # 30 refund + 20 compensation

    other = make_world(shopper=world.shopper)
    top_up_deposit(other.vendor, "100.00")
    from backend.finance import accounts
    from .helpers import balance

    fees_before = balance(accounts.PLATFORM_FEES)
    services.dispute_resolve(
        actor=arbiter, dispute=escalated(other), outcome="reject", deposit_penalty="15.00", penalty_to_buyer=False,
    )
    assert deposit(other.vendor) == Decimal("85.00")
    assert balance(accounts.PLATFORM_FEES) - fees_before == Decimal("15.00")
    assert_ledger_sound()


def test_a_penalty_larger_than_the_deposit_is_refused_and_nothing_changes(world, arbiter):
    top_up_deposit(world.vendor, "10.00")
    dispute = escalated(world)
    with pytest.raises(DomainError) as exc_info:
        services.dispute_resolve(actor=arbiter, dispute=dispute, outcome="refund_full", deposit_penalty="10.01")
    assert code(exc_info) == "INSUFFICIENT_FUNDS"
    dispute = fresh(dispute)
    assert (dispute.status, dispute.ruling_outcome, dispute.refunded_amount) == (S.UNDER_ARBITRATION, "", 0)
    assert (deposit(world.vendor), refunds_of(world.shopper)) == (Decimal("10.00"), 0)
