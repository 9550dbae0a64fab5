"""Listing review: automatic checks, the staff queue, revisions of live listings, delisting."""

import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.catalog import services
from backend.catalog.models import BannedWord, ListingStatus, ProductRevision, RevisionStatus
from backend.catalog.state_machines import LISTING_TRANSITIONS, listing_machine
from backend.catalog.vendor_rules import LISTING_VENDOR_STATUSES
from backend.core.exceptions import DomainError
from backend.core.models import AuditLogEntry
from backend.vendors.models import VendorStatus
from plugins.models import PluginConfiguration

from ..conftest import image_bytes
from ..graphql_client import error_codes
from .helpers import (
    APPROVE,
    DELIST,
    MEDIA_CREATE,
    MEDIA_DELETE,
    PRODUCT,
    PRODUCT_CREATE,
    PRODUCT_UPDATE,
    REJECT,
    REVIEW_QUEUE,
    SUBMIT,
    gid,
    listed_product,
    upload,
)

pytestmark = pytest.mark.django_db


def audit_actions(product):
    return list(
        AuditLogEntry.objects.filter(target_id=str(product.pk), action__startswith="product.")
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def test_draft_to_live_through_review(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    merchant = core_api.login(owner)
    created = merchant.mutate(
        PRODUCT_CREATE,
        {
            "input": {
                "category": gid(catalog["phones"]),
                "name": "华为 Mate 60 手机",
                "attributes": [{"attribute": "brand", "value": "Huawei"}],
                "variants": [{"sku": "MATE60-256", "price": "5999.00", "stock": 10,
                              "attributes": [{"attribute": "capacity", "value": "256GB"}]}],
            }
        },
    )
    product_id = created["product"]["id"]
    media = merchant.mutate(MEDIA_CREATE, {"product": product_id, "image": None}, files={"variables.image": upload()})
    assert media["errors"] == [] and media["media"]["isLive"] is False
    submitted = merchant.mutate(SUBMIT, {"id": product_id})
    assert submitted["errors"] == [] and submitted["product"]["status"] == "PENDING_REVIEW"

    queue = core_api.login(review_staff).execute(REVIEW_QUEUE)["reviewQueue"]
    assert [e["node"]["id"] for e in queue["edges"]] == [product_id]
    approved = core_api.mutate(APPROVE, {"id": product_id})
    assert approved["errors"] == [] and approved["product"]["status"] == "PUBLISHED"
    detail = core_api.execute(PRODUCT, {"id": product_id})["product"]
    assert all(m["isLive"] for m in detail["media"])
    assert core_api.execute(REVIEW_QUEUE)["reviewQueue"]["totalCount"] == 0
    from backend.catalog.models import Product

    product = Product.objects.get()
    assert audit_actions(product) == ["product.submit_for_review", "product.approve"]
    assert AuditLogEntry.objects.get(action="product.approve").actor == review_staff


def test_review_queue_is_oldest_first_and_staff_only(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    first = listed_product(vendor, owner, catalog["tshirts"], name="First", status=ListingStatus.PENDING_REVIEW)
    live = listed_product(vendor, owner, catalog["tshirts"], name="Live")
    second = listed_product(vendor, owner, catalog["tshirts"], name="Second", status=ListingStatus.PENDING_REVIEW)
    services.product_update(actor=owner, product=live, name="Live renamed")
    queue = core_api.login(review_staff).execute(REVIEW_QUEUE)["reviewQueue"]
    assert [e["node"]["name"] for e in queue["edges"]] == ["First", "Second", "Live"]
    assert queue["edges"][2]["node"]["pendingRevision"]["name"] == "Live renamed"
    pending = core_api.execute(
        "{ products(first: 10, filter: {status: PENDING_REVIEW}) { edges { node { name } } } }"
    )["products"]["edges"]
    assert [e["node"]["name"] for e in pending] == ["First", "Second"]
    assert core_api.login(owner).execute(REVIEW_QUEUE)["reviewQueue"]["totalCount"] == 0
    assert first.pk and second.pk


def test_only_review_staff_decide(core_api, catalog, vendor_and_owner, staff_factory):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.PENDING_REVIEW)
    for user in (owner, staff_factory()):
        api = core_api.login(user)
        assert error_codes(api.mutate(APPROVE, {"id": gid(product)})) == ["PERMISSION_DENIED"]
        assert error_codes(api.mutate(REJECT, {"id": gid(product), "reason": "no"})) == ["PERMISSION_DENIED"]
    product.refresh_from_db()
    assert product.status == ListingStatus.PENDING_REVIEW
    assert not AuditLogEntry.objects.filter(action__in=["product.approve", "product.reject"]).exists()


def test_reject_needs_a_reason_then_edit_and_resubmit(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.PENDING_REVIEW)
    staff = core_api.login(review_staff)
    assert error_codes(staff.mutate(REJECT, {"id": gid(product), "reason": "  "})) == ["REQUIRED"]
    rejected = staff.mutate(REJECT, {"id": gid(product), "reason": "The photo shows another product."})
    assert rejected["product"]["status"] == "REJECTED"
    assert rejected["product"]["statusReason"] == "The photo shows another product."
    entry = AuditLogEntry.objects.get(action="product.reject")
    assert entry.reason == "The photo shows another product." and entry.actor == review_staff

    merchant = core_api.login(owner)
    edited = merchant.mutate(PRODUCT_UPDATE, {"id": gid(product), "input": {"description": "Now with the right photo"}})
    assert edited["product"]["status"] == "DRAFT"
    resubmitted = merchant.mutate(SUBMIT, {"id": gid(product)})
    assert resubmitted["errors"] == [] and resubmitted["product"]["status"] == "PENDING_REVIEW"
    # A rejected listing may also be resubmitted unchanged.
    core_api.login(review_staff).mutate(REJECT, {"id": gid(product), "reason": "Still wrong"})
    assert core_api.login(owner).mutate(SUBMIT, {"id": gid(product)})["product"]["status"] == "PENDING_REVIEW"


def test_editing_a_listing_in_review_sends_it_back_to_draft(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.PENDING_REVIEW)
    payload = core_api.login(owner).mutate(PRODUCT_UPDATE, {"id": gid(product), "input": {"name": "Renamed"}})
    assert payload["product"]["status"] == "DRAFT" and payload["product"]["reviewRequestedAt"] is None


# --- Automatic checks ---


def test_submit_runs_the_image_check(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, image=False)
    merchant = core_api.login(owner)
    payload = merchant.mutate(SUBMIT, {"id": gid(product)})
    assert error_codes(payload) == ["IMAGE_REQUIRED"] and payload["product"] is None
    small = SimpleUploadedFile("small.png", image_bytes(size=(120, 90)), content_type="image/png")
    merchant.mutate(MEDIA_CREATE, {"product": gid(product), "image": None}, files={"variables.image": small})
    assert error_codes(merchant.mutate(SUBMIT, {"id": gid(product)})) == ["IMAGE_TOO_SMALL"]
    product.refresh_from_db()
    assert product.status == ListingStatus.DRAFT and product.review_requested_at is None
    assert audit_actions(product) == []


def test_banned_words_come_from_configuration_and_staff_list(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    merchant = core_api.login(owner)
    default_word = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, name="高仿 T恤")
    payload = merchant.mutate(SUBMIT, {"id": gid(default_word)})
    assert set(error_codes(payload)) == {"BANNED_WORD"} and payload["errors"][0]["field"] == "name"

    staff_word = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, name="Miracle shirt")
    assert merchant.mutate(SUBMIT, {"id": gid(staff_word)})["errors"] == []
    BannedWord.objects.create(word="MIRACLE")
    services.product_update(actor=owner, product=staff_word, name="Miracle shirt 2", description="A shirt")
    assert error_codes(merchant.mutate(SUBMIT, {"id": gid(staff_word)})) == ["BANNED_WORD"]
    # Whole words only for Latin script: "miracles" is another word.
    services.product_update(actor=owner, product=staff_word, name="Miracles shirt")
    assert merchant.mutate(SUBMIT, {"id": gid(staff_word)})["errors"] == []

    PluginConfiguration.objects.create(
        identifier="listing.banned_words", active=True, configuration={"words": ["cure"], "use_staff_list": False}
    )
    cure = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, name="Shirt")
    services.product_update(actor=owner, product=cure, description="This shirt will CURE colds")
    payload = merchant.mutate(SUBMIT, {"id": gid(cure)})
    assert error_codes(payload) == ["BANNED_WORD"] and payload["errors"][0]["field"] == "description"
    # The configured list replaced the defaults and the staff list is off.
    services.product_update(actor=owner, product=cure, name="高仿 miracle", description="ok")
    assert merchant.mutate(SUBMIT, {"id": gid(cure)})["errors"] == []


def test_inactive_listing_plugins_do_not_check(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    PluginConfiguration.objects.create(identifier="listing.image_check", active=False)
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, image=False)
    assert core_api.login(owner).mutate(SUBMIT, {"id": gid(product)})["errors"] == []


def test_submit_reports_every_problem_at_once(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = services.product_create(actor=owner, vendor=vendor, category=catalog["phones"], name="假货 phone")
    payload = core_api.login(owner).mutate(SUBMIT, {"id": gid(product)})
    assert sorted(error_codes(payload)) == ["BANNED_WORD", "IMAGE_REQUIRED", "REQUIRED", "REQUIRED"]


@pytest.mark.parametrize("status", [s.value for s in VendorStatus])
def test_only_vendors_that_may_list_submit(core_api, catalog, vendor_and_owner, status):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT)
    vendor.status = status
    vendor.save()
    payload = core_api.login(owner).mutate(SUBMIT, {"id": gid(product)})
    # The rule lives in one place (catalog.vendor_rules); active vendors always may list.
    if status in LISTING_VENDOR_STATUSES:
        assert payload["errors"] == []
    else:
        assert error_codes(payload) == ["VENDOR_NOT_ALLOWED"]
        product.refresh_from_db()
        assert product.status == ListingStatus.DRAFT
    assert VendorStatus.ACTIVE in LISTING_VENDOR_STATUSES
    assert VendorStatus.SUSPENDED not in LISTING_VENDOR_STATUSES and VendorStatus.CLOSED not in LISTING_VENDOR_STATUSES


# --- Revisions of published listings ---


def test_revision_waits_while_the_approved_version_stays(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], name="Old name", attributes={"material": "Cotton"})
    merchant = core_api.login(owner)
    payload = merchant.mutate(
        PRODUCT_UPDATE,
        {"id": gid(product), "input": {"name": "New name", "attributes": [{"attribute": "material", "value": "Silk"}]}},
    )
    assert payload["errors"] == []
    shown = payload["product"]
    assert shown["status"] == "PUBLISHED" and shown["name"] == "Old name"
    assert shown["pendingRevision"]["name"] == "New name"
    assert shown["pendingRevision"]["attributes"] == [{"slug": "material", "value": "Silk"}]
    # A second edit updates the same revision.
    merchant.mutate(PRODUCT_UPDATE, {"id": gid(product), "input": {"description": "Now silk"}})
    revision = ProductRevision.objects.get()
    assert (revision.name, revision.description) == ("New name", "Now silk")

    core_api.login(review_staff).mutate(APPROVE, {"id": gid(product)})
    product.refresh_from_db()
    revision.refresh_from_db()
    assert (product.name, product.description, product.attributes) == ("New name", "Now silk", {"material": "Silk"})
    assert product.status == ListingStatus.PUBLISHED and product.review_requested_at is None
    assert revision.status == RevisionStatus.APPROVED and revision.previous["name"] == "Old name"
    entry = AuditLogEntry.objects.get(action="product.revision_approve")
    assert entry.data["previous"]["name"] == "Old name"


def test_rejected_revision_leaves_the_live_version(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], name="Old name")
    services.product_update(actor=owner, product=product, name="Better name")
    payload = core_api.login(review_staff).mutate(REJECT, {"id": gid(product), "reason": "Misleading"})
    assert payload["product"]["status"] == "PUBLISHED" and payload["product"]["name"] == "Old name"
    revision = ProductRevision.objects.get()
    assert revision.status == RevisionStatus.REJECTED and revision.reason == "Misleading"
    assert AuditLogEntry.objects.get(action="product.revision_reject").reason == "Misleading"
    # Nothing waits any more: approving now is not a valid transition.
    assert error_codes(core_api.mutate(APPROVE, {"id": gid(product)})) == ["INVALID_TRANSITION"]


def test_image_changes_of_a_live_listing_wait_for_review(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"])
    old = product.media.get()
    merchant = core_api.login(owner)
    added = merchant.mutate(
        MEDIA_CREATE, {"product": gid(product), "image": None}, files={"variables.image": upload(color=(0, 200, 0))}
    )
    assert added["errors"] == [] and added["media"]["isLive"] is False
    assert merchant.mutate(MEDIA_DELETE, {"id": gid(old)})["errors"] == []
    detail = merchant.execute(PRODUCT, {"id": gid(product)})["product"]
    assert {(m["id"], m["isLive"], m["removalRequested"]) for m in detail["media"]} == {
        (gid(old), True, True),
        (added["media"]["id"], False, False),
    }
    assert detail["pendingRevision"]["mediaAdded"] == [{"id": added["media"]["id"]}]
    assert detail["pendingRevision"]["mediaRemoved"] == [{"id": gid(old)}]
    core_api.login(review_staff).mutate(APPROVE, {"id": gid(product)})
    assert list(product.media.values_list("is_live", "removal_requested")) == [(True, False)]
    assert not product.media.filter(pk=old.pk).exists()


def test_rejected_image_revision_is_discarded(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"])
    old = product.media.get()
    services.product_media_create(actor=owner, product=product, image=upload(color=(0, 0, 200)))
    services.product_media_delete(actor=owner, media=old)
    core_api.login(review_staff).mutate(REJECT, {"id": gid(product), "reason": "Watermarked"})
    assert list(product.media.values_list("pk", "is_live", "removal_requested")) == [(old.pk, True, False)]


def test_revision_runs_the_automatic_checks_at_once(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], name="Fine shirt")
    merchant = core_api.login(owner)
    payload = merchant.mutate(PRODUCT_UPDATE, {"id": gid(product), "input": {"name": "假货 shirt"}})
    assert error_codes(payload) == ["BANNED_WORD"]
    assert not ProductRevision.objects.exists()
    only = product.media.get()
    assert error_codes(merchant.mutate(MEDIA_DELETE, {"id": gid(only)})) == ["IMAGE_REQUIRED"]
    small = SimpleUploadedFile("small.png", image_bytes(size=(50, 50)), content_type="image/png")
    payload = merchant.mutate(MEDIA_CREATE, {"product": gid(product), "image": None}, files={"variables.image": small})
    assert error_codes(payload) == ["IMAGE_TOO_SMALL"]
    product.refresh_from_db()
    assert product.media.count() == 1 and product.review_requested_at is None


# --- Delisting ---


def test_vendor_delists_and_resubmits(core_api, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"])
    merchant = core_api.login(owner)
    payload = merchant.mutate(DELIST, {"id": gid(product)})
    assert payload["product"]["status"] == "DELISTED"
    assert AuditLogEntry.objects.get(action="product.delist").data["by"] == "vendor"
    assert merchant.mutate(SUBMIT, {"id": gid(product)})["product"]["status"] == "PENDING_REVIEW"
    assert core_api.login(review_staff).mutate(APPROVE, {"id": gid(product)})["product"]["status"] == "PUBLISHED"


def test_staff_delist_with_a_reason(core_api, catalog, vendor_and_owner, review_staff, staff_factory):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"])
    assert error_codes(core_api.login(staff_factory()).mutate(DELIST, {"id": gid(product)})) == ["NOT_FOUND"]
    staff = core_api.login(review_staff)
    assert error_codes(staff.mutate(DELIST, {"id": gid(product)})) == ["REQUIRED"]
    payload = staff.mutate(DELIST, {"id": gid(product), "reason": "Counterfeit reports"})
    assert payload["product"] == {"id": gid(product), "status": "DELISTED", "statusReason": "Counterfeit reports"}
    entry = AuditLogEntry.objects.get(action="product.delist")
    assert entry.actor == review_staff and entry.reason == "Counterfeit reports" and entry.data["by"] == "staff"


def test_delisting_folds_a_pending_revision_into_the_listing(catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], name="Old")
    services.product_update(actor=owner, product=product, name="New")
    services.product_delist(actor=owner, product=product)
    product.refresh_from_db()
    assert product.name == "New" and product.review_requested_at is None
    assert ProductRevision.objects.get().status == RevisionStatus.WITHDRAWN


# --- The state machine, transition by transition ---

ALL_STATES = [s.value for s in ListingStatus]


@pytest.mark.parametrize("source, target", list(itertools.product(ALL_STATES, ALL_STATES)))
def test_listing_transitions_are_exactly_the_written_ones(source, target):
    allowed = target in LISTING_TRANSITIONS.get(source, set())
    assert listing_machine.can(source, target) is allowed
    if not allowed:
        with pytest.raises(DomainError) as raised:
            listing_machine.check(source, target)
        assert raised.value.code.name == "INVALID_TRANSITION"


def test_expected_transitions():
    S = ListingStatus
    assert {(s, t) for s, targets in LISTING_TRANSITIONS.items() for t in targets} == {
        (S.DRAFT, S.PENDING_REVIEW),
        (S.PENDING_REVIEW, S.PUBLISHED),
        (S.PENDING_REVIEW, S.REJECTED),
        (S.PENDING_REVIEW, S.DRAFT),
        (S.REJECTED, S.DRAFT),
        (S.REJECTED, S.PENDING_REVIEW),
        (S.PUBLISHED, S.DELISTED),
        (S.DELISTED, S.PENDING_REVIEW),
    }


@pytest.mark.parametrize(
    "status, document, variables, code",
    [
        (ListingStatus.DRAFT, APPROVE, {}, "INVALID_TRANSITION"),
        (ListingStatus.DRAFT, REJECT, {"reason": "x"}, "INVALID_TRANSITION"),
        (ListingStatus.DRAFT, DELIST, {}, "INVALID_TRANSITION"),
        (ListingStatus.PENDING_REVIEW, SUBMIT, {}, "INVALID_TRANSITION"),
        (ListingStatus.PUBLISHED, SUBMIT, {}, "INVALID_TRANSITION"),
        (ListingStatus.REJECTED, APPROVE, {}, "INVALID_TRANSITION"),
        (ListingStatus.REJECTED, DELIST, {}, "INVALID_TRANSITION"),
        (ListingStatus.DELISTED, APPROVE, {}, "INVALID_TRANSITION"),
        (ListingStatus.DELISTED, DELIST, {"reason": "x"}, "INVALID_TRANSITION"),
    ],
)
def test_forbidden_transitions_through_the_api(core_api, catalog, vendor_and_owner, review_staff, status, document, variables, code):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=status)
    user = review_staff if document in (APPROVE, REJECT) or variables.get("reason") else owner
    payload = core_api.login(user).mutate(document, {"id": gid(product), **variables})
    assert error_codes(payload) == [code]
    product.refresh_from_db()
    assert product.status == status
