"""The store is told when its enrolment is reviewed (inbox and mail, in its language); staff
review enrolments and open or cancel campaigns in the admin, through the same services."""

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from backend.campaigns.models import CampaignEnrolment, CampaignStatus, EnrolmentStatus
from backend.notifications.models import Notification

from ..checkout.helpers import HANGZHOU, listing, store
from ..conftest import make_user
from .helpers import campaign, campaign_staff, enrol

pytestmark = pytest.mark.django_db


def test_approval_and_rejection_tell_the_stores_staff():
    from backend.campaigns import services

    tea, owner = store("Tea House", origin=HANGZHOU)
    owner.language_code = "zh-hans"
    owner.save()
    green, black = listing(tea, price="100.00", name="Longjing"), listing(tea, price="100.00", name="Pu'er")
    staff = campaign_staff()
    festival = campaign(staff, name="Double 11")
    first, second = enrol(owner, festival, green, price="70.00"), enrol(owner, festival, black, price="90.00")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.enrolment_approve(actor=staff, enrolment_id=first.pk)
        services.enrolment_reject(actor=staff, enrolment_id=second.pk, reason="Price not sharp enough")
    told = {n.event.name: n for n in Notification.objects.filter(user=owner).select_related("event")}
    assert {"campaign.enrolment_approved", "campaign.enrolment_rejected"} <= set(told)
    rejected = told["campaign.enrolment_rejected"]
    assert "Price not sharp enough" in rejected.body and "未通过" in rejected.title
    assert any("活动报名审核通过" in m.subject for m in mail.outbox)


def test_staff_review_enrolments_and_run_campaigns_in_the_admin(client):
    tea, owner = store("Tea House", origin=HANGZHOU)
    green, black = listing(tea, price="100.00"), listing(tea, price="100.00")
    staff = campaign_staff()
    festival = campaign(staff, open_=False)
    client.force_login(make_user(is_staff=True))  # no REVIEW_LISTINGS: not even the list
    assert client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 403
    client.force_login(staff)
    url = reverse("admin:campaigns_campaign_changelist")
    client.post(url, {"action": "open_selected", "_selected_action": [festival.pk]})
    festival.refresh_from_db()
    assert festival.status == CampaignStatus.OPEN_FOR_ENROLMENT
    first, second = enrol(owner, festival, green), enrol(owner, festival, black)
    page = client.get(reverse("admin:campaigns_campaign_change", args=[festival.pk]))
    assert page.status_code == 200 and green.sku in page.content.decode()  # the enrolments inline
    enrolments = reverse("admin:campaigns_campaignenrolment_changelist")
    assert client.get(enrolments).status_code == 200
    client.post(enrolments, {"action": "approve_selected", "_selected_action": [first.pk]})
    client.post(enrolments, {"action": "reject_selected", "_selected_action": [second.pk]})
    assert dict(CampaignEnrolment.objects.values_list("pk", "status")) == {
        first.pk: EnrolmentStatus.APPROVED, second.pk: EnrolmentStatus.REJECTED}
    assert CampaignEnrolment.objects.get(pk=second.pk).reason
    client.post(url, {"action": "cancel_selected", "_selected_action": [festival.pk]})
    festival.refresh_from_db()
    assert festival.status == CampaignStatus.CANCELLED
