"""Stores through the core API: profile and images, staff, status changes, visibility."""

import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from backend.core.audit import audit_trail
from backend.core.permissions import PlatformPermission
from backend.finance.models import VendorClosure
from backend.vendors.models import Vendor, VendorRole, VendorStaff, VendorStatus

from ..factories import staff_join
from ..graphql_client import CORE_URL, GraphQLClient, error_codes
from .conftest import gid, media_files

pytestmark = pytest.mark.django_db

VENDOR_FIELDS = """
  id name slug status statusReason description contactEmail contactPhone
  categories { name }
  staff { id role user { email } }
  logo { size format width height url }
  banner { size format width height url }
"""
VENDOR_UPDATE = (
    """
mutation($id: ID!, $input: VendorUpdateInput!) {
  vendorUpdate(id: $id, input: $input) { vendor { %s } errors { field code message } }
}"""
    % VENDOR_FIELDS
)
VENDOR = "query($id: ID, $slug: String) { vendor(id: $id, slug: $slug) { %s } }" % VENDOR_FIELDS
VENDORS = (
    """
query($first: Int, $status: VendorStatus, $search: String) {
  vendors(first: $first, filter: {status: $status, search: $search}) { totalCount edges { node { %s } } }
}"""
    % VENDOR_FIELDS
)
STAFF_REMOVE = """
mutation($id: ID!) { vendorStaffRemove(id: $id) { vendor { staff { role user { email } } } errors { field code } } }
"""
STATUS_MUTATIONS = {
    "vendorActivate": "mutation($id: ID!) { vendorActivate(id: $id) { vendor { status } errors { code } } }",
    "vendorSuspend": """mutation($id: ID!) { vendorSuspend(id: $id, reason: "Counterfeit goods reported.") {
        vendor { status statusReason } errors { code } } }""",
    "vendorReinstate": "mutation($id: ID!) { vendorReinstate(id: $id) { vendor { status } errors { code } } }",
    "vendorClose": "mutation($id: ID!) { vendorClose(id: $id) { vendor { status } errors { code } } }",
    "vendorCloseComplete": "mutation($id: ID!) { vendorCloseComplete(id: $id) { vendor { status } errors { code } } }",
}
V = VendorStatus
# mutation -> {source status: resulting status}; every other source is refused.
STATUS_CHANGES = {
    # With no fee plan nothing is owed, so activation is not held back (tests/finance covers the gate).
    "vendorActivate": {V.ONBOARDING: V.ACTIVE},
    "vendorSuspend": {V.ACTIVE: V.SUSPENDED, V.RESTRICTED: V.SUSPENDED},
    "vendorReinstate": {V.SUSPENDED: V.ACTIVE},
    "vendorClose": {V.ONBOARDING: V.CLOSED, V.ACTIVE: V.CLOSING, V.RESTRICTED: V.CLOSING, V.SUSPENDED: V.CLOSING},
    # Once settled: the closing store below has passed its cooling-off period (tests/finance covers the rest).
    "vendorCloseComplete": {V.CLOSING: V.CLOSED},
}


def jpeg_with_exif(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 100, 50))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0131] = "SecretEditor 1.0"  # Software
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    data = buffer.getvalue()
    assert b"SpyCam" in data
    return data


def store_images(media_root) -> list[str]:
    return [path for path in media_files(media_root) if path.startswith("vendors/")]


def api_for(user):
    return GraphQLClient(CORE_URL).login(user)


def test_owner_updates_profile_and_images_without_exif(make_vendor, media_root, django_capture_on_commit_callbacks):
    vendor, owner = make_vendor()
    api = api_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        payload = api.mutate(
            VENDOR_UPDATE,
            {
                "id": gid("Vendor", vendor),
                "input": {"name": "Roadtrip Gear 自驾装备", "description": "Everything for the road.", "logo": None, "banner": None},
            },
            files={
                "variables.input.logo": SimpleUploadedFile("logo.jpg", jpeg_with_exif(), content_type="image/jpeg"),
                "variables.input.banner": SimpleUploadedFile("banner.jpg", jpeg_with_exif((2400, 800)), content_type="image/jpeg"),
            },
        )
    assert payload["errors"] == []
    store = payload["vendor"]
    assert store["name"] == "Roadtrip Gear 自驾装备"
    assert store["slug"] == "roadtrip-gear"  # addresses stay stable across renames
    assert {(r["size"], r["format"]) for r in store["logo"]} == {
        (size, fmt) for size in ("64", "128", "256") for fmt in ("webp", "jpeg")
    }
    assert {(r["size"], r["width"], r["height"]) for r in store["banner"]} == {("1200x300", 1200, 300), ("600x150", 600, 150)}
    assert all(r["url"].startswith("http://testserver/media/vendors/") for r in store["logo"] + store["banner"])

    vendor.refresh_from_db()
    stored = [path for formats in (vendor.logo | vendor.banner).values() for path in formats.values()]
    assert sorted(stored) == store_images(media_root)  # the original upload is not kept
    for path in stored:
        with open(os.path.join(media_root, path), "rb") as handle:
            data = handle.read()
        picture = Image.open(io.BytesIO(data))
        assert picture.format in ("WEBP", "JPEG")
        assert dict(picture.getexif()) == {}
        assert b"SpyCam" not in data and b"SecretEditor" not in data
    assert Image.open(os.path.join(media_root, vendor.logo["256"]["jpeg"])).size == (256, 256)

    # Replacing the logo removes the old renditions once committed; the banner stays.
    old_logo = set(path for formats in vendor.logo.values() for path in formats.values())
    with django_capture_on_commit_callbacks(execute=True):
        again = api.mutate(
            VENDOR_UPDATE,
            {"id": gid("Vendor", vendor), "input": {"logo": None}},
            files={"variables.input.logo": SimpleUploadedFile("logo.png", jpeg_with_exif((300, 300)))},
        )
    assert again["errors"] == []
    remaining = set(store_images(media_root))
    assert not (old_logo & remaining)
    vendor.refresh_from_db()
    assert len(remaining) == 6 + 4
    assert audit_trail(vendor).filter(action="vendor.update").count() == 2


def test_bad_logo_changes_nothing(make_vendor, media_root):
    vendor, owner = make_vendor()
    before = media_files(media_root)
    payload = api_for(owner).mutate(
        VENDOR_UPDATE,
        {"id": gid("Vendor", vendor), "input": {"name": "Renamed", "logo": None}},
        files={"variables.input.logo": SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")},
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_IMAGE", "logo")]
    vendor.refresh_from_db()
    assert vendor.name == "Roadtrip Gear" and vendor.logo == {}
    assert media_files(media_root) == before


def test_who_may_update_a_store(make_vendor, user_factory, staff_factory):
    vendor, owner = make_vendor()
    other_vendor, other_owner = make_vendor("Other Store")
    operator, service = user_factory(), user_factory()
    VendorStaff.objects.create(vendor=vendor, user=operator, role=VendorRole.OPERATOR)
    VendorStaff.objects.create(vendor=vendor, user=service, role=VendorRole.CUSTOMER_SERVICE)
    variables = {"id": gid("Vendor", vendor), "input": {"description": "Changed"}}

    assert error_codes(api_for(other_owner).mutate(VENDOR_UPDATE, variables)) == ["NOT_FOUND"]
    assert error_codes(api_for(user_factory()).mutate(VENDOR_UPDATE, variables)) == ["NOT_FOUND"]
    assert error_codes(api_for(staff_factory(PlatformPermission.REVIEW_LISTINGS)).mutate(VENDOR_UPDATE, variables)) == [
        "NOT_FOUND"
    ]
    assert error_codes(api_for(service).mutate(VENDOR_UPDATE, variables)) == ["PERMISSION_DENIED"]
    vendor.refresh_from_db()
    assert vendor.description == ""

    assert api_for(operator).mutate(VENDOR_UPDATE, variables)["errors"] == []
    staff = staff_factory(PlatformPermission.MANAGE_VENDORS)
    assert api_for(staff).mutate(VENDOR_UPDATE, {**variables, "input": {"contactPhone": "+86 1"}})["errors"] == []
    vendor.refresh_from_db()
    assert (vendor.description, vendor.contact_phone) == ("Changed", "+86 1")
    other_vendor.refresh_from_db()
    assert other_vendor.description == ""


def test_vendor_visibility_by_id_and_slug(make_vendor, user_factory, staff_factory):
    vendor, owner = make_vendor("西湖茶舍 West Lake Tea House")
    _other, other_owner = make_vendor("西湖茶舍 West Lake Tea House")
    assert vendor.slug == "西湖茶舍-west-lake-tea-house"
    assert _other.slug == "西湖茶舍-west-lake-tea-house-2"

    by_slug = api_for(owner).execute(VENDOR, {"slug": vendor.slug})["vendor"]
    assert by_slug["id"] == gid("Vendor", vendor)
    assert by_slug["staff"][0]["user"]["email"] == owner.email
    assert api_for(other_owner).execute(VENDOR, {"slug": vendor.slug})["vendor"] is None
    assert api_for(other_owner).execute(VENDOR, {"id": gid("Vendor", vendor)})["vendor"] is None
    assert api_for(user_factory()).execute(VENDOR, {"id": gid("Vendor", vendor)})["vendor"] is None
    assert GraphQLClient(CORE_URL).execute(VENDOR, {"slug": vendor.slug})["vendor"] is None
    finance = staff_factory(PlatformPermission.MANAGE_FINANCE)
    assert api_for(finance).execute(VENDOR, {"slug": vendor.slug})["vendor"]["name"] == vendor.name


def test_vendor_list_filters_and_scoping(make_vendor, vendors_staff):
    tea, tea_owner = make_vendor("West Lake Tea")
    gear, _ = make_vendor("Roadtrip Gear")
    Vendor.objects.filter(pk=gear.pk).update(status=VendorStatus.ACTIVE)

    staff_api = api_for(vendors_staff)
    everything = staff_api.execute(VENDORS, {"first": 10})["vendors"]
    assert everything["totalCount"] == 2
    active = staff_api.execute(VENDORS, {"first": 10, "status": "ACTIVE"})["vendors"]
    assert [e["node"]["name"] for e in active["edges"]] == ["Roadtrip Gear"]
    searched = staff_api.execute(VENDORS, {"first": 10, "search": "lake"})["vendors"]
    assert [e["node"]["name"] for e in searched["edges"]] == ["West Lake Tea"]

    own = api_for(tea_owner).execute(VENDORS, {"first": 10})["vendors"]
    assert [e["node"]["name"] for e in own["edges"]] == ["West Lake Tea"]


def test_vendor_list_query_count_does_not_grow_with_the_page(make_vendor, vendors_staff, user_factory):
    for index in range(20):
        vendor, _owner = make_vendor(f"Store {index:02d}")
        VendorStaff.objects.create(vendor=vendor, user=user_factory(), role=VendorRole.OPERATOR)
    api = api_for(vendors_staff)

    def count(first):
        with CaptureQueriesContext(connection) as captured:
            assert len(api.execute(VENDORS, {"first": first})["vendors"]["edges"]) == first
        return len(captured.captured_queries)

    assert count(2) == count(20)


def test_staff_remove_rules(make_vendor, user_factory, vendors_staff):
    vendor, owner = make_vendor()
    other_vendor, other_owner = make_vendor("Other Store")
    operator = user_factory("operator@example.com")
    owner_api = api_for(owner)
    operator_membership = staff_join(owner, vendor, operator, VendorRole.OPERATOR)

    # Only the owner manages staff: not an operator, not another store.
    assert error_codes(api_for(operator).mutate(STAFF_REMOVE, {"id": gid("VendorStaff", operator_membership)})) == [
        "PERMISSION_DENIED"
    ]
    assert error_codes(api_for(other_owner).mutate(STAFF_REMOVE, {"id": gid("VendorStaff", operator_membership)})) == [
        "NOT_FOUND"
    ]

    # The last owner stays.
    owner_membership = VendorStaff.objects.get(user=owner)
    last = owner_api.mutate(STAFF_REMOVE, {"id": gid("VendorStaff", owner_membership)})
    assert error_codes(last) == ["LAST_OWNER"]
    staff_last = api_for(vendors_staff).mutate(STAFF_REMOVE, {"id": gid("VendorStaff", owner_membership)})
    assert error_codes(staff_last) == ["LAST_OWNER"]

    removed = owner_api.mutate(STAFF_REMOVE, {"id": gid("VendorStaff", operator_membership)})
    assert removed["errors"] == []
    assert removed["vendor"]["staff"] == [{"role": "OWNER", "user": {"email": owner.email}}]

    # With a second owner, the first may leave.
    co_owner = user_factory()
    staff_join(owner, vendor, co_owner, VendorRole.OWNER)
    assert owner_api.mutate(STAFF_REMOVE, {"id": gid("VendorStaff", owner_membership)})["errors"] == []
    assert list(vendor.staff.values_list("user__email", "role")) == [(co_owner.email, VendorRole.OWNER)]
    assert list(audit_trail(vendor).filter(action__startswith="vendor.staff").values_list("action", flat=True)) == [
        "vendor.staff_remove",
        "vendor.staff_join",
        "vendor.staff_invite",
        "vendor.staff_remove",
        "vendor.staff_join",
        "vendor.staff_invite",
    ]


@pytest.mark.parametrize("mutation", list(STATUS_MUTATIONS))
@pytest.mark.parametrize("source", VendorStatus.values)
def test_status_changes_through_the_api(mutation, source, make_vendor, vendors_staff):
    vendor, _owner = make_vendor()
    Vendor.objects.filter(pk=vendor.pk).update(status=source)
    if source == VendorStatus.CLOSING:
        VendorClosure.objects.create(
            vendor=vendor, requested_at=timezone.now(), deposit_release_after=timezone.now() - timedelta(days=1)
        )
    payload = api_for(vendors_staff).mutate(STATUS_MUTATIONS[mutation], {"id": gid("Vendor", vendor)})
    vendor.refresh_from_db()
    expected = STATUS_CHANGES[mutation].get(source)
    if expected is None:
        assert error_codes(payload) == ["INVALID_TRANSITION"]
        assert vendor.status == source
        assert not audit_trail(vendor).exclude(action="vendor.create").exists()
    else:
        assert payload["errors"] == []
        assert payload["vendor"]["status"] == expected.upper()
        assert vendor.status == expected
        entry = audit_trail(vendor).exclude(action="vendor.create").get()
        assert (entry.actor, entry.data["previous"], entry.data["status"]) == (vendors_staff, source, expected)


def test_suspend_reinstate_close_permissions_and_reasons(make_vendor, user_factory, vendors_staff):
    vendor, owner = make_vendor()
    operator = user_factory()
    VendorStaff.objects.create(vendor=vendor, user=operator, role=VendorRole.OPERATOR)
    Vendor.objects.filter(pk=vendor.pk).update(status=VendorStatus.ACTIVE)
    variables = {"id": gid("Vendor", vendor)}

    # Merchants cannot change their own standing.
    for name in ("vendorActivate", "vendorSuspend", "vendorReinstate", "vendorCloseComplete"):
        assert error_codes(api_for(owner).mutate(STATUS_MUTATIONS[name], variables)) == ["PERMISSION_DENIED"]
    blank = api_for(vendors_staff).mutate(
        'mutation($id: ID!) { vendorSuspend(id: $id, reason: " ") { errors { code field } } }', variables
    )
    assert blank["errors"] == [{"code": "REQUIRED", "field": "reason"}]

    suspended = api_for(vendors_staff).mutate(STATUS_MUTATIONS["vendorSuspend"], variables)
    assert suspended["vendor"] == {"status": "SUSPENDED", "statusReason": "Counterfeit goods reported."}
    assert api_for(vendors_staff).mutate(STATUS_MUTATIONS["vendorReinstate"], variables)["vendor"]["status"] == "ACTIVE"

    # The owner may ask to close the store; an operator may not.
    assert error_codes(api_for(operator).mutate(STATUS_MUTATIONS["vendorClose"], variables)) == ["PERMISSION_DENIED"]
    closing = api_for(owner).mutate(STATUS_MUTATIONS["vendorClose"], variables)
    assert closing["vendor"]["status"] == "CLOSING"
    # Not before the cooling-off period is over.
    too_early = api_for(vendors_staff).mutate(STATUS_MUTATIONS["vendorCloseComplete"], variables)
    assert error_codes(too_early) == ["NOT_SETTLED"]
    VendorClosure.objects.filter(vendor=vendor).update(deposit_release_after=timezone.now())
    assert api_for(vendors_staff).mutate(STATUS_MUTATIONS["vendorCloseComplete"], variables)["vendor"]["status"] == "CLOSED"

    # A closed store takes no more edits or staff.
    closed_edit = api_for(owner).mutate(VENDOR_UPDATE, {**variables, "input": {"description": "Back again"}})
    assert error_codes(closed_edit) == ["VENDOR_CLOSED"]
    assert [e.action for e in audit_trail(vendor).order_by("id")] == [
        "vendor.create",
        "vendor.suspend",
        "vendor.reinstate",
        "vendor.close",
        "vendor.close_complete",
    ]


def test_profile_input_is_checked(make_vendor):
    vendor, owner = make_vendor()
    api = api_for(owner)
    blank = api.mutate(VENDOR_UPDATE, {"id": gid("Vendor", vendor), "input": {"name": "  "}})
    assert [(e["code"], e["field"]) for e in blank["errors"]] == [("REQUIRED", "name")]
    email = api.mutate(VENDOR_UPDATE, {"id": gid("Vendor", vendor), "input": {"contactEmail": "nope"}})
    assert [(e["code"], e["field"]) for e in email["errors"]] == [("INVALID", "contactEmail")]
    vendor.refresh_from_db()
    assert vendor.name == "Roadtrip Gear"
