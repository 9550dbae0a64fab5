"""The staff console: the application queue, document previews and decisions through the services."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from backend.core.audit import audit_trail
from backend.core.permissions import PlatformPermission
from backend.vendors import services
from backend.vendors.models import ApplicationStatus, DocumentType, Vendor, VendorApplication, VendorStatus

from .conftest import pdf_upload, png_upload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:vendors_vendorapplication_changelist"


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def make_application(user_factory, categories):
    def build(store_name="Store", documents=None):
        applicant = user_factory()
        return services.vendor_application_create(
            applicant=applicant,
            store_name=store_name,
            company_name=f"{store_name} Co.",
            contact_email=applicant.email,
            categories=categories[:1],
            documents=documents or [(DocumentType.BUSINESS_LICENSE, pdf_upload())],
        )

    return build


def decide_url(application, decision):
    return reverse("admin:vendors_vendorapplication_decide", args=[application.pk, decision])


def test_queue_puts_waiting_applications_first_oldest_first(admin_client, make_application, superuser):
    rejected = make_application("Rejected long ago")
    newer = make_application("Newer")
    waiting_on_applicant = make_application("Info requested")
    older = make_application("Older")
    base = timezone.now() - timedelta(days=10)
    for days, application in enumerate([rejected, older, waiting_on_applicant, newer]):
        VendorApplication.objects.filter(pk=application.pk).update(submitted_at=base + timedelta(days=days))
    services.vendor_application_reject(actor=superuser, application=rejected, reason="No.")
    services.vendor_application_request_info(actor=superuser, application=waiting_on_applicant, message="More.")

    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert [a.store_name for a in response.context["cl"].result_list] == [
        "Older",
        "Newer",
        "Info requested",
        "Rejected long ago",
    ]
    filtered = admin_client.get(reverse(CHANGELIST), {"status__exact": "info_requested"})
    assert [a.store_name for a in filtered.context["cl"].result_list] == ["Info requested"]


def test_change_page_previews_documents_and_offers_decisions(admin_client, make_application):
    application = make_application(
        documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload()), (DocumentType.TRADEMARK_CERTIFICATE, png_upload())]
    )
    response = admin_client.get(reverse("admin:vendors_vendorapplication_change", args=[application.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Open PDF" in page
    assert page.count("<img src=\"/vendor-documents/") == 1
    for decision in ("approve", "reject", "request-info"):
        assert decide_url(application, decision) in page
    assert "vendor_application.submit" in page  # the audit log

    # The preview links work for the signed-in staff member.
    png = application.documents.get(document_type=DocumentType.TRADEMARK_CERTIFICATE)
    from backend.vendors.files import document_link_path

    image = admin_client.get(document_link_path(png))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_approve_from_the_change_page(admin_client, make_application, superuser):
    application = make_application("华强数码")
    confirm = admin_client.get(decide_url(application, "approve"))
    assert confirm.status_code == 200
    response = admin_client.post(decide_url(application, "approve"))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == superuser
    vendor = Vendor.objects.get(application=application)
    assert vendor.slug == "华强数码" and vendor.status == VendorStatus.ONBOARDING
    assert [e.action for e in audit_trail(application).order_by("id")] == [
        "vendor_application.submit",
        "vendor_application.approve",
    ]
    # A second approval is refused with a message, not a crash.
    again = admin_client.post(decide_url(application, "approve"), follow=True)
    assert "cannot go from approved to approved" in again.content.decode()
    assert Vendor.objects.count() == 1


def test_reject_and_request_info_need_text(admin_client, make_application, superuser):
    application = make_application()
    blank = admin_client.post(decide_url(application, "reject"), {"reason": ""})
    assert blank.status_code == 200
    assert "This field is required" in blank.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED

    asked = admin_client.post(decide_url(application, "request-info"), {"reason": "Upload a clearer scan."})
    assert asked.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.decision_reason) == (ApplicationStatus.INFO_REQUESTED, "Upload a clearer scan.")

    other = make_application("Other")
    rejected = admin_client.post(decide_url(other, "reject"), {"reason": "Counterfeit brand."})
    assert rejected.status_code == 302
    other.refresh_from_db()
    assert (other.status, other.decision_reason, other.decided_by) == (ApplicationStatus.REJECTED, "Counterfeit brand.", superuser)
    entry = audit_trail(other).get(action="vendor_application.reject")
    assert (entry.actor, entry.reason) == (superuser, "Counterfeit brand.")


def test_bulk_actions_approve_and_reject_with_an_intermediate_form(admin_client, make_application):
    first, second, third = make_application("One"), make_application("Two"), make_application("Three")
    url = reverse(CHANGELIST)

    admin_client.post(url, {"action": "approve_selected", ACTION_CHECKBOX_NAME: [first.pk]})
    first.refresh_from_db()
    assert first.status == ApplicationStatus.APPROVED

    form = admin_client.post(url, {"action": "reject_selected", ACTION_CHECKBOX_NAME: [second.pk, third.pk]})
    assert form.status_code == 200
    assert "Reason (shown to the applicants)" in form.content.decode()
    assert VendorApplication.objects.filter(status=ApplicationStatus.REJECTED).count() == 0

    done = admin_client.post(
        url,
        {"action": "reject_selected", ACTION_CHECKBOX_NAME: [second.pk, third.pk], "apply": "1", "reason": "Duplicate."},
    )
    assert done.status_code == 302
    assert set(VendorApplication.objects.filter(status=ApplicationStatus.REJECTED).values_list("pk", flat=True)) == {
        second.pk,
        third.pk,
    }


def test_vendor_admin_suspend_and_reinstate(admin_client, make_application, superuser):
    application = services.vendor_application_approve(actor=superuser, application=make_application("Gear"))
    vendor = application.vendor
    url = reverse("admin:vendors_vendor_changelist")

    # An onboarding store cannot be suspended: the refusal is shown, nothing changes.
    refused = admin_client.post(
        url, {"action": "suspend_selected", ACTION_CHECKBOX_NAME: [vendor.pk], "apply": "1", "reason": "Fraud."}, follow=True
    )
    assert "not possible" in refused.content.decode()
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.ONBOARDING

    admin_client.post(url, {"action": "activate_selected", ACTION_CHECKBOX_NAME: [vendor.pk]})
    form = admin_client.post(url, {"action": "suspend_selected", ACTION_CHECKBOX_NAME: [vendor.pk]})
    assert form.status_code == 200 and "Reason (shown to the merchant)" in form.content.decode()
    admin_client.post(url, {"action": "suspend_selected", ACTION_CHECKBOX_NAME: [vendor.pk], "apply": "1", "reason": "Fraud."})
    vendor.refresh_from_db()
    assert (vendor.status, vendor.status_reason) == (VendorStatus.SUSPENDED, "Fraud.")
    admin_client.post(url, {"action": "reinstate_selected", ACTION_CHECKBOX_NAME: [vendor.pk]})
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.ACTIVE

    page = admin_client.get(reverse("admin:vendors_vendor_change", args=[vendor.pk])).content.decode()
    assert application.applicant.email in page  # staff inline
    for action in ("vendor.activate", "vendor.suspend", "vendor.reinstate"):
        assert action in page  # audit log
    assert [e.actor for e in audit_trail(vendor).exclude(action="vendor.create")] == [superuser] * 3


def test_staff_without_manage_vendors_cannot_use_the_console(client, staff_factory, make_application):
    application = make_application()
    client.force_login(staff_factory(PlatformPermission.REVIEW_LISTINGS))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.post(decide_url(application, "approve")).status_code in (302, 403)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not Vendor.objects.exists()
