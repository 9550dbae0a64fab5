"""The staff console: the queue ordered by deadline, the dispute page and its resolve actions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.audit import audit_trail
from backend.core.permissions import PlatformPermission
from backend.disputes import services
from backend.disputes.models import Dispute, DisputeStatus as S

from ..checkout.helpers import TABLE_RATE
from .helpers import fresh, make_world, open_dispute, refunds_of, ship, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def escalated(world, **kwargs):
    dispute = open_dispute(world, evidence=[upload()], **kwargs)
    dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=False, message="As described.",
                                       evidence=[upload()])
    return services.dispute_escalate(actor=world.shopper, dispute=dispute)


def test_the_queue_puts_the_nearest_deadline_first(console, staff_factory):
    first, second, third = make_world(), make_world(), make_world()
    late = open_dispute(first)
    soon = open_dispute(second)
    Dispute.objects.filter(pk=soon.pk).update(deadline_at=late.deadline_at - timedelta(hours=5))
    done = services.dispute_withdraw(actor=third.shopper, dispute=open_dispute(third))
    response = console.get(reverse("admin:disputes_dispute_changelist"))
    assert response.status_code == 200
    assert [d.pk for d in response.context["cl"].result_list] == [soon.pk, late.pk, done.pk]

    clerk = Client()
    clerk.force_login(staff_factory(PlatformPermission.MANAGE_ORDERS))
    assert clerk.get(reverse("admin:disputes_dispute_changelist")).status_code == 403


def test_the_dispute_page_shows_everything_an_arbiter_needs(console):
    world = make_world()
    ship(world)
    dispute = escalated(world, reason="damaged", kind="return_and_refund")
    response = console.get(reverse("admin:disputes_dispute_change", args=[dispute.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    order = world.order
    order.refresh_from_db()
    for expected in (
        f"Order #{order.pk}", "release frozen: yes",  # the order
        world.tea.product.name, world.tea.sku,  # the lines
        f"Payment #{order.payment_id}",  # the payment
        order.shipment.tracking_number,  # the shipment
        "As described.", "<img src=",  # the thread with evidence thumbnails
        "Policy suggestion", "Both sides gave evidence",  # the plugin's suggestion
        'id="dispute-resolve"', "Audit log",
    ):
        assert expected in page, expected
    assert response.context["suggestion"].outcome is None


def test_resolving_from_the_console_calls_the_service(console, superuser):
    world = make_world()
    dispute = escalated(world)
    url = reverse("admin:disputes_dispute_resolve", args=[dispute.pk])
    assert console.get(url).status_code == 405
    response = console.post(url, {"outcome": "refund_partial", "refund_amount": "12.00", "note": "Half.",
                                  "penalty_to_shopper": "on"})
    assert response.status_code == 302
    dispute = fresh(dispute)
    assert (dispute.status, dispute.refunded_amount, dispute.ruled_by) == (S.RESOLVED, Decimal("12.00"), superuser)
    assert refunds_of(world.shopper) == Decimal("12.00")
    assert audit_trail(dispute).first().action == "dispute.resolve"
    # A refused ruling is a message on the page, not an error page.
    again = console.post(url, {"outcome": "reject"}, follow=True)
    assert "cannot be ruled on" in again.content.decode()


def test_escalate_and_confirm_a_return_from_the_console(console):
    world = make_world()
    dispute = open_dispute(world, reason="damaged", kind="return_and_refund", amount="20.00")
    console.post(reverse("admin:disputes_dispute_escalate", args=[dispute.pk]), {"message": "Looking into it."})
    assert fresh(dispute).status == S.UNDER_ARBITRATION
    console.post(reverse("admin:disputes_dispute_resolve", args=[dispute.pk]), {"outcome": "refund_full"})
    dispute = fresh(dispute)
    assert dispute.status == S.AWAITING_RETURN
    services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier=TABLE_RATE, tracking_number="ADM-1")
    page = console.get(reverse("admin:disputes_dispute_change", args=[dispute.pk])).content.decode()
    assert "ADM-1" in page and 'id="dispute-return-received"' in page
    console.post(reverse("admin:disputes_dispute_return_received", args=[dispute.pk]))
    assert (fresh(dispute).status, fresh(dispute).refunded_amount) == (S.RESOLVED, Decimal("20.00"))


def test_staff_without_the_permission_cannot_act(staff_factory):
    world = make_world()
    dispute = escalated(world)
    client = Client()
    client.force_login(staff_factory(PlatformPermission.MANAGE_ORDERS))
    client.post(reverse("admin:disputes_dispute_resolve", args=[dispute.pk]), {"outcome": "refund_full"})
    assert fresh(dispute).status == S.UNDER_ARBITRATION
