"""Merchant onboarding through the core API: apply, review, resubmit, approve."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from backend.core.models import AuditLogEntry
from backend.core.permissions import PlatformPermission
from backend.vendors import services
from backend.vendors.models import (
    ApplicationDocument,
    ApplicationStatus,
    DocumentType,
    Vendor,
    VendorApplication,
    VendorRole,
    VendorStaff,
)

from ..graphql_client import CORE_URL, GraphQLClient, error_codes
from .conftest import APPLICATION_FIELDS, gid, media_files, pdf_upload, png_upload

pytestmark = pytest.mark.django_db

REQUEST_INFO = """
mutation($id: ID!, $message: String!) {
  vendorApplicationRequestInfo(id: $id, message: $message) {
    vendorApplication { id status decisionReason } errors { field code message }
  }
}"""
UPDATE = (
    """
mutation($id: ID!, $input: VendorApplicationUpdateInput!) {
  vendorApplicationUpdate(id: $id, input: $input) { vendorApplication { %s } errors { field code message } }
}"""
    % APPLICATION_FIELDS
)
APPROVE = (
    """
mutation($id: ID!) {
  vendorApplicationApprove(id: $id) { vendorApplication { %s } errors { field code message } }
}"""
    % APPLICATION_FIELDS
)
REJECT = """
mutation($id: ID!, $reason: String!) {
  vendorApplicationReject(id: $id, reason: $reason) { vendorApplication { id status decisionReason } errors { field code } }
}"""
APPLICATION = "query($id: ID!) { vendorApplication(id: $id) { %s } }" % APPLICATION_FIELDS
APPLICATIONS = """
query($first: Int, $status: VendorApplicationStatus) {
  vendorApplications(first: $first, filter: {status: $status}) {
    totalCount
    edges { node { %s } }
  }
}""" % APPLICATION_FIELDS


def test_onboarding_end_to_end(apply, user_factory, vendors_staff, categories, client):
    merchant = user_factory("owner@huaqiang.example.com")
    created = apply(merchant)
    assert created["errors"] == []
    application = created["vendorApplication"]
    assert application["status"] == "SUBMITTED"
    assert application["contactEmail"] == "shop@huaqiang.example.com"
    assert sorted(c["slug"] for c in application["categories"]) == sorted(["数码-3c-digital", "手机-phones"])
    [licence] = application["documents"]
    assert licence["documentType"] == "BUSINESS_LICENSE"
    assert licence["contentType"] == "application/pdf"
    # The applicant sees their application but not the staff's audit trail.
    assert application["auditLog"] is None

    # The document link serves the file to whoever was given it.
    response = client.get(licence["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"

    staff_api = GraphQLClient(CORE_URL).login(vendors_staff)
    asked = staff_api.mutate(REQUEST_INFO, {"id": application["id"], "message": "Please add your trademark certificate."})
    assert asked["errors"] == []
    assert asked["vendorApplication"]["status"] == "INFO_REQUESTED"

    # Staff cannot approve while the applicant is asked for more.
    early = staff_api.mutate(APPROVE, {"id": application["id"]})
    assert error_codes(early) == ["INVALID_TRANSITION"]

    merchant_api = GraphQLClient(CORE_URL).login(merchant)
    resubmitted = merchant_api.mutate(
        UPDATE,
        {
            "id": application["id"],
            "input": {
                "description": "Phones, laptops and accessories.",
                "categories": [gid("Category", categories[2])],
                "documents": [{"documentType": "TRADEMARK_CERTIFICATE", "file": None}],
            },
        },
        files={"variables.input.documents.0.file": png_upload("trademark.png")},
    )
    assert resubmitted["errors"] == []
    resubmitted = resubmitted["vendorApplication"]
    assert resubmitted["status"] == "SUBMITTED"
    assert resubmitted["decisionReason"] == ""
    assert resubmitted["description"] == "Phones, laptops and accessories."
    assert [c["name"] for c in resubmitted["categories"]] == ["Specialty Food"]
    assert sorted(d["documentType"] for d in resubmitted["documents"]) == ["BUSINESS_LICENSE", "TRADEMARK_CERTIFICATE"]

    approved = staff_api.mutate(APPROVE, {"id": application["id"]})
    assert approved["errors"] == []
    approved = approved["vendorApplication"]
    assert approved["status"] == "APPROVED"
    assert approved["decidedByEmail"] == vendors_staff.email
    assert approved["decidedAt"]
    vendor = approved["vendor"]
    assert vendor["status"] == "ONBOARDING"
    assert vendor["slug"] == "华强数码-huaqiang-digital"
    assert vendor["staff"] == [{"role": "OWNER", "user": {"email": merchant.email}}]
    assert [(e["action"], e["actorEmail"]) for e in approved["auditLog"]] == [
        ("vendor_application.submit", merchant.email),
        ("vendor_application.request_info", vendors_staff.email),
        ("vendor_application.resubmit", merchant.email),
        ("vendor_application.approve", vendors_staff.email),
    ]
    assert approved["auditLog"][1]["reason"] == "Please add your trademark certificate."

    store = Vendor.objects.get()
    assert store.application_id == int(VendorApplication.objects.get().pk)
    assert list(store.categories.all()) == [categories[2]]
    assert VendorStaff.objects.get(user=merchant).role == VendorRole.OWNER
    assert AuditLogEntry.objects.filter(action="vendor.create", target_id=str(store.pk)).exists()

    # The new owner now sees the store through the API.
    me_vendor = merchant_api.execute("query($id: ID!) { vendor(id: $id) { name status } }", {"id": vendor["id"]})
    assert me_vendor["vendor"] == {"name": "华强数码 Huaqiang Digital", "status": "ONBOARDING"}


def test_reject_needs_a_reason_and_is_final(apply, user_factory, vendors_staff):
    application = apply(user_factory())["vendorApplication"]
    staff_api = GraphQLClient(CORE_URL).login(vendors_staff)
    blank = staff_api.mutate(REJECT, {"id": application["id"], "reason": "  "})
    assert error_codes(blank) == ["REQUIRED"] and blank["errors"][0]["field"] == "reason"
    rejected = staff_api.mutate(REJECT, {"id": application["id"], "reason": "The licence has expired."})
    assert rejected["vendorApplication"]["status"] == "REJECTED"
    assert rejected["vendorApplication"]["decisionReason"] == "The licence has expired."
    again = staff_api.mutate(APPROVE, {"id": application["id"]})
    assert error_codes(again) == ["INVALID_TRANSITION"]
    assert not Vendor.objects.exists()


def test_one_open_application_per_applicant_and_reapply_after_rejection(apply, user_factory, vendors_staff):
    merchant = user_factory()
    first = apply(merchant)["vendorApplication"]
    second = apply(merchant, storeName="Another store")
    assert error_codes(second) == ["ALREADY_APPLIED"]
    assert VendorApplication.objects.count() == 1

    services.vendor_application_reject(
        actor=vendors_staff, application=VendorApplication.objects.get(), reason="Incomplete."
    )
    again = apply(merchant)
    assert again["errors"] == []
    assert again["vendorApplication"]["id"] != first["id"]


def test_vendor_staff_and_platform_staff_cannot_apply(apply, make_vendor, vendors_staff):
    _vendor, owner = make_vendor()
    assert error_codes(apply(owner)) == ["ALREADY_VENDOR_STAFF"]
    assert error_codes(apply(vendors_staff)) == ["PERMISSION_DENIED"]
    assert VendorApplication.objects.count() == 1


def test_anonymous_cannot_apply(application_input):
    variables, files = application_input()
    payload = GraphQLClient(CORE_URL).mutate(
        "mutation($input: VendorApplicationCreateInput!) { vendorApplicationCreate(input: $input) { errors { code } } }",
        variables,
        files=files,
    )
    assert error_codes(payload) == ["PERMISSION_DENIED"]
    assert not VendorApplication.objects.exists()


def test_missing_business_licence(apply, user_factory, private_media_root):
    payload = apply(user_factory(), documents=(("TRADEMARK_CERTIFICATE", pdf_upload("tm.pdf")),))
    assert error_codes(payload) == ["DOCUMENT_REQUIRED"]
    assert payload["errors"][0]["field"] == "documents"
    assert not VendorApplication.objects.exists()
    assert media_files(private_media_root) == []


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"storeName": " "}, "REQUIRED", "storeName"),
        ({"companyName": ""}, "REQUIRED", "companyName"),
        ({"contactEmail": "not-an-email"}, "INVALID", "contactEmail"),
        ({"categories": []}, "REQUIRED", "categories"),
        ({"categories": ["Q2F0ZWdvcnk6OTk5OQ=="]}, "NOT_FOUND", "categories"),  # Category:9999
        ({"storeName": "x" * 129}, "INVALID", "storeName"),
    ],
)
def test_application_input_is_checked(apply, user_factory, private_media_root, overrides, code, field):
    payload = apply(user_factory(), **overrides)
    assert error_codes(payload) == [code]
    assert payload["errors"][0]["field"] == field
    assert not VendorApplication.objects.exists()
    assert media_files(private_media_root) == []


def test_others_cannot_approve_see_or_edit_an_application(apply, user_factory, make_vendor, staff_factory):
    applicant = user_factory()
    application = apply(applicant)["vendorApplication"]
    _vendor, other_merchant = make_vendor()
    shopper = user_factory()
    reviewer = staff_factory(PlatformPermission.REVIEW_LISTINGS)

    for outsider in (shopper, other_merchant, reviewer, applicant):
        api = GraphQLClient(CORE_URL).login(outsider)
        assert error_codes(api.mutate(APPROVE, {"id": application["id"]})) == ["PERMISSION_DENIED"]
        assert error_codes(api.mutate(REJECT, {"id": application["id"], "reason": "no"})) == ["PERMISSION_DENIED"]
        assert error_codes(api.mutate(REQUEST_INFO, {"id": application["id"], "message": "?"})) == ["PERMISSION_DENIED"]

    for outsider in (shopper, other_merchant, reviewer):
        api = GraphQLClient(CORE_URL).login(outsider)
        assert api.execute(APPLICATION, {"id": application["id"]})["vendorApplication"] is None
        listed = api.execute(APPLICATIONS, {"first": 10})["vendorApplications"]
        assert listed["totalCount"] == (1 if outsider == other_merchant else 0)  # only their own
        assert application["id"] not in [e["node"]["id"] for e in listed["edges"]]
        edit = api.mutate(UPDATE, {"id": application["id"], "input": {"storeName": "Hijacked"}})
        assert error_codes(edit) == ["NOT_FOUND"]

    # Anonymous callers see nothing either.
    anonymous = GraphQLClient(CORE_URL)
    assert anonymous.execute(APPLICATION, {"id": application["id"]})["vendorApplication"] is None

    stored = VendorApplication.objects.get(applicant=applicant)
    assert stored.status == ApplicationStatus.SUBMITTED
    assert stored.store_name == "华强数码 Huaqiang Digital"
    assert not AuditLogEntry.objects.filter(action__startswith="vendor_application.", target_id=str(stored.pk)).exclude(
        action="vendor_application.submit"
    ).exists()


def test_staff_may_read_but_not_edit_an_application(apply, user_factory, vendors_staff):
    application = apply(user_factory())["vendorApplication"]
    api = GraphQLClient(CORE_URL).login(vendors_staff)
    seen = api.execute(APPLICATION, {"id": application["id"]})["vendorApplication"]
    assert seen["auditLog"][0]["action"] == "vendor_application.submit"
    edit = api.mutate(UPDATE, {"id": application["id"], "input": {"storeName": "Staff edit"}})
    assert error_codes(edit) == ["PERMISSION_DENIED"]


def test_update_only_while_information_is_requested(apply, user_factory):
    merchant = user_factory()
    application = apply(merchant)["vendorApplication"]
    payload = GraphQLClient(CORE_URL).login(merchant).mutate(
        UPDATE, {"id": application["id"], "input": {"storeName": "Renamed"}}
    )
    assert error_codes(payload) == ["INVALID_TRANSITION"]
    assert VendorApplication.objects.get().store_name == "华强数码 Huaqiang Digital"


def test_resubmission_replaces_documents_of_the_same_type(
    apply, user_factory, vendors_staff, private_media_root, django_capture_on_commit_callbacks
):
    merchant = user_factory()
    apply(merchant)
    application = VendorApplication.objects.get()
    [old] = application.documents.all()
    services.vendor_application_request_info(actor=vendors_staff, application=application, message="Blurry scan.")

    with django_capture_on_commit_callbacks(execute=True):
        payload = GraphQLClient(CORE_URL).login(merchant).mutate(
            UPDATE,
            {"id": gid("VendorApplication", application), "input": {"documents": [{"documentType": "BUSINESS_LICENSE", "file": None}]}},
            files={"variables.input.documents.0.file": png_upload("sharper.png")},
        )
    assert payload["errors"] == []
    [new] = application.documents.all()
    assert new.pk != old.pk and new.content_type == "image/png"
    assert media_files(private_media_root) == [new.file.name]


def test_document_links_expire_and_cannot_be_forged(apply, user_factory, client, settings):
    settings.VENDOR_DOCUMENT_LINK_MAX_AGE = 60
    application = apply(user_factory())["vendorApplication"]
    url = application["documents"][0]["url"]
    assert url.startswith("http://testserver/vendor-documents/")
    path = url.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    assert client.get(path[:-3] + "xx/").status_code == 404
    with freeze_time(timezone.now() + timedelta(seconds=120)):
        assert client.get(path).status_code == 404


def test_documents_are_stored_under_unguessable_names(apply, user_factory):
    apply(user_factory(), documents=(("BUSINESS_LICENSE", pdf_upload("my licence.png")),))
    document = ApplicationDocument.objects.get()
    # The extension comes from the content (a PDF), not from the uploaded name.
    assert document.file.name.endswith(".pdf")
    assert "licence" not in document.file.name
    assert document.document_type == DocumentType.BUSINESS_LICENSE


def test_status_filter_and_queue_order(apply, user_factory, vendors_staff):
    first = apply(user_factory())["vendorApplication"]
    second = apply(user_factory())["vendorApplication"]
    services.vendor_application_reject(
        actor=vendors_staff, application=VendorApplication.objects.order_by("id").first(), reason="No."
    )
    api = GraphQLClient(CORE_URL).login(vendors_staff)
    submitted = api.execute(APPLICATIONS, {"first": 10, "status": "SUBMITTED"})["vendorApplications"]
    assert [e["node"]["id"] for e in submitted["edges"]] == [second["id"]]
    everything = api.execute(APPLICATIONS, {"first": 10})["vendorApplications"]
    assert everything["totalCount"] == 2
    assert [e["node"]["id"] for e in everything["edges"]] == [first["id"], second["id"]]


def _list_queries(api, count: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        data = api.execute(APPLICATIONS, {"first": count})
    assert len(data["vendorApplications"]["edges"]) == count
    return len(captured.captured_queries)


def test_application_list_query_count_does_not_grow_with_the_page(user_factory, vendors_staff, categories):
    for index in range(20):
        applicant = user_factory()
        application = services.vendor_application_create(
            applicant=applicant,
            store_name=f"Store {index}",
            company_name="Co.",
            contact_email=applicant.email,
            categories=categories,
            documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload()), (DocumentType.TRADEMARK_CERTIFICATE, png_upload())],
        )
        if index % 2:
            services.vendor_application_approve(actor=vendors_staff, application=application)
    api = GraphQLClient(CORE_URL).login(vendors_staff)
    small, large = _list_queries(api, 2), _list_queries(api, 20)
    assert small == large


def test_database_keeps_one_open_application_even_past_the_check(user_factory, categories, monkeypatch, private_media_root):
    """The unique constraint catches what a concurrent request's check could not see."""
    from backend.core.exceptions import DomainError

    applicant = user_factory()
    common = dict(
        applicant=applicant, store_name="S", company_name="C", contact_email=applicant.email, categories=categories[:1]
    )
    services.vendor_application_create(**common, documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())])
    files_before = media_files(private_media_root)
    monkeypatch.setattr(services, "_check_may_apply", lambda applicant: None)
    with pytest.raises(DomainError) as refused:
        services.vendor_application_create(**common, documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())])
    assert refused.value.code.name == "ALREADY_APPLIED"
    assert VendorApplication.objects.count() == 1
    assert media_files(private_media_root) == files_before
