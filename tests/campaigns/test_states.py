"""The campaign and enrolment state machines, transition by transition, forbidden ones included,
and the services that move them."""

import pytest
from django.utils import timezone
from freezegun import freeze_time

from backend.campaigns import services
from backend.campaigns.models import CampaignStatus as C
from backend.campaigns.models import EnrolmentStatus as N
from backend.campaigns.states import campaign_machine, enrolment_machine
from backend.core.exceptions import DomainError

from ..checkout.helpers import HANGZHOU, listing, store
from .helpers import DAY, HOUR, campaign, campaign_staff, enrol

ALLOWED_CAMPAIGN = {
    (C.DRAFT, C.OPEN_FOR_ENROLMENT), (C.DRAFT, C.CANCELLED),
    (C.OPEN_FOR_ENROLMENT, C.LIVE), (C.OPEN_FOR_ENROLMENT, C.CANCELLED),
    (C.LIVE, C.ENDED), (C.LIVE, C.CANCELLED),
}
ALLOWED_ENROLMENT = {(N.PENDING, N.APPROVED), (N.PENDING, N.REJECTED), (N.PENDING, N.WITHDRAWN), (N.APPROVED, N.WITHDRAWN)}


@pytest.mark.parametrize("source", list(C))
@pytest.mark.parametrize("target", list(C))
def test_campaign_transitions(source, target):
    assert campaign_machine.can(source, target) == ((source, target) in ALLOWED_CAMPAIGN)
    if (source, target) not in ALLOWED_CAMPAIGN:
        with pytest.raises(DomainError) as exc:
            campaign_machine.check(source, target)
        assert exc.value.code.name == "INVALID_TRANSITION"


@pytest.mark.parametrize("source", list(N))
@pytest.mark.parametrize("target", list(N))
def test_enrolment_transitions(source, target):
    assert enrolment_machine.can(source, target) == ((source, target) in ALLOWED_ENROLMENT)
    if (source, target) not in ALLOWED_ENROLMENT:
        with pytest.raises(DomainError) as exc:
            enrolment_machine.check(source, target)
        assert exc.value.code.name == "INVALID_TRANSITION"




@pytest.mark.django_db
def test_a_campaign_opens_goes_live_and_ends_with_its_dates():
    staff = campaign_staff()
    made = campaign(staff, open_=False)
    assert made.status == C.DRAFT
    made = services.campaign_open(actor=staff, campaign_id=made.pk)
    assert made.status == C.OPEN_FOR_ENROLMENT
    with pytest.raises(DomainError) as exc:  # opened twice
        services.campaign_open(actor=staff, campaign_id=made.pk)
    assert exc.value.code.name == "INVALID_TRANSITION"
    assert services.campaigns_advance() == []
    with freeze_time(made.starts_at + HOUR):
        assert services.campaigns_advance() == [made.pk]
    made.refresh_from_db()
    assert made.status == C.LIVE
    with freeze_time(made.ends_at):
        assert services.campaigns_advance() == [made.pk]
        assert services.campaigns_advance() == []
    made.refresh_from_db()
    assert made.status == C.ENDED
    with pytest.raises(DomainError) as exc:  # an ended campaign is not cancelled
        services.campaign_cancel(actor=staff, campaign_id=made.pk)
    assert exc.value.code.name == "INVALID_TRANSITION"


@pytest.mark.django_db
def test_an_open_campaign_past_its_window_goes_live_then_ends_in_one_run():
    made = campaign()
    with freeze_time(made.ends_at + HOUR):
        assert services.campaigns_advance() == [made.pk, made.pk]
    made.refresh_from_db()
    assert made.status == C.ENDED


@pytest.mark.django_db
def test_cancel_from_draft_open_and_live_but_not_twice():
    staff = campaign_staff()
    for opened, live in ((False, False), (True, False), (True, True)):
        made = campaign(staff, open_=opened, slug=f"c-{opened}-{live}")
        if live:
            with freeze_time(made.starts_at + HOUR):
                services.campaigns_advance()
        assert services.campaign_cancel(actor=staff, campaign_id=made.pk).status == C.CANCELLED
        with pytest.raises(DomainError) as exc:
            services.campaign_cancel(actor=staff, campaign_id=made.pk)
        assert exc.value.code.name == "INVALID_TRANSITION"


@pytest.mark.django_db
def test_enrolment_approve_reject_withdraw():
    tea, owner = store("Tea House", origin=HANGZHOU)
    green, black, white = (listing(tea, price="100.00", name=n) for n in ("Green", "Black", "White"))
    staff = campaign_staff()
    made = campaign(staff)
    first = enrol(owner, made, green)
    assert first.status == N.PENDING
    first = services.enrolment_approve(actor=staff, enrolment_id=first.pk)
    assert (first.status, first.decided_by) == (N.APPROVED, staff)
    with pytest.raises(DomainError) as exc:  # approved cannot be rejected
        services.enrolment_reject(actor=staff, enrolment_id=first.pk, reason="Late")
    assert exc.value.code.name == "INVALID_TRANSITION"
    second = enrol(owner, made, black)
    with pytest.raises(DomainError) as exc:
        services.enrolment_reject(actor=staff, enrolment_id=second.pk, reason=" ")
    assert exc.value.code.name == "REQUIRED"
    second = services.enrolment_reject(actor=staff, enrolment_id=second.pk, reason="Price too high for the page")
    assert (second.status, second.reason) == (N.REJECTED, "Price too high for the page")
    for action in (lambda: services.enrolment_approve(actor=staff, enrolment_id=second.pk),
                   lambda: services.campaign_withdraw(actor=owner, enrolment_id=second.pk)):
        with pytest.raises(DomainError) as exc:
            action()
        assert exc.value.code.name == "INVALID_TRANSITION"
    # Rejected: the store may enrol the variant again at a better price.
    again = enrol(owner, made, black, price="60.00")
    assert services.campaign_withdraw(actor=owner, enrolment_id=again.pk).status == N.WITHDRAWN
    # An approved enrolment is withdrawn before the campaign starts, not while it runs.
    third = services.enrolment_approve(actor=staff, enrolment_id=enrol(owner, made, white).pk)
    with pytest.raises(DomainError) as exc:
        services.campaign_withdraw(actor=owner, enrolment_id=third.pk, now=made.starts_at + HOUR)
    assert exc.value.code.name == "INVALID_TRANSITION"
    assert services.campaign_withdraw(actor=owner, enrolment_id=first.pk).status == N.WITHDRAWN
    with pytest.raises(DomainError) as exc:
        services.campaign_withdraw(actor=owner, enrolment_id=first.pk)
    assert exc.value.code.name == "INVALID_TRANSITION"
