"""The staff console's review queue calls the same services as the API."""

import pytest
from django.test import Client
from django.urls import reverse

from backend.catalog import services
from backend.catalog.models import ListingStatus, ProductRevision, RevisionStatus
from backend.core.models import AuditLogEntry

from .helpers import listed_product

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:catalog_listingreview_changelist")


def review_url(product):
    return reverse("admin:catalog_listingreview_change", args=[product.pk])


@pytest.fixture
def console(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def test_queue_lists_waiting_listings_oldest_first(console, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    first = listed_product(vendor, owner, catalog["tshirts"], name="Waiting first", status=ListingStatus.PENDING_REVIEW)
    live = listed_product(vendor, owner, catalog["tshirts"], name="Live one")
    services.product_update(actor=owner, product=live, name="Live one, renamed")
    listed_product(vendor, owner, catalog["tshirts"], name="Draft one", status=ListingStatus.DRAFT)
    page = console.get(QUEUE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Waiting first" in html and "Live one" in html and "Draft one" not in html
    assert html.index("Waiting first") < html.index("Live one")
    assert "revision of a live listing" in html
    assert first.pk


def test_revision_page_shows_old_and_new_side_by_side_and_approves(console, catalog, vendor_and_owner, superuser):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], name="Plain tee")
    services.product_update(actor=owner, product=product, name="Plain tee 纯棉", description="Now in cotton")
    page = console.get(review_url(product))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Approved (on sale)" in html and "Proposed" in html
    assert '<td class="old">Plain tee</td>' in html and '<td class="new">Plain tee 纯棉</td>' in html
    response = console.post(review_url(product), {"decision": "approve"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    product.refresh_from_db()
    assert product.name == "Plain tee 纯棉"
    assert ProductRevision.objects.get().status == RevisionStatus.APPROVED
    assert AuditLogEntry.objects.get(action="product.revision_approve").actor == superuser


def test_reject_needs_a_reason(console, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.PENDING_REVIEW)
    page = console.post(review_url(product), {"decision": "reject", "reason": ""}, follow=True)
    assert "Tell the vendor why" in page.content.decode()
    product.refresh_from_db()
    assert product.status == ListingStatus.PENDING_REVIEW
    console.post(review_url(product), {"decision": "reject", "reason": "Wrong category"})
    product.refresh_from_db()
    assert (product.status, product.status_reason) == (ListingStatus.REJECTED, "Wrong category")
    assert AuditLogEntry.objects.get(action="product.reject").reason == "Wrong category"


def test_bulk_approve_action(console, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    products = [
        listed_product(vendor, owner, catalog["tshirts"], name=f"Bulk {i}", status=ListingStatus.PENDING_REVIEW)
        for i in range(2)
    ]
    console.post(QUEUE, {"action": "approve_selected", "_selected_action": [p.pk for p in products]})
    for product in products:
        product.refresh_from_db()
        assert product.status == ListingStatus.PUBLISHED


def test_staff_without_review_permission_are_kept_out(catalog, vendor_and_owner, staff_factory):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.PENDING_REVIEW)
    client = Client()
    client.force_login(staff_factory())
    assert client.get(QUEUE).status_code == 403
    assert client.post(review_url(product), {"decision": "approve"}).status_code == 403
    product.refresh_from_db()
    assert product.status == ListingStatus.PENDING_REVIEW
