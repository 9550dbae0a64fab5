"""The demo data command: runs twice without duplicating anything."""

import io
import re

import pytest
from django.core.management import call_command
from PIL import Image

from backend.accounts.models import User
from backend.catalog.models import Category
from backend.core.permissions import PlatformPermission, has_permission
from backend.core.uploads import check_document
from backend.vendors.models import ApplicationStatus, Vendor, VendorApplication, VendorRole, VendorStatus
from backend.checkout.models import Checkout
from backend.disputes.models import Dispute, DisputeStatus, RulingOutcome
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerTransaction, Payout
from backend.orders.models import Order, OrderStatus
from backend.reviews.models import ProductReview
from fixtures.demo.documents import licence_png, minimal_pdf

from .conftest import media_files

pytestmark = pytest.mark.django_db


def counts():
    return {
        "users": User.objects.count(),
        "categories": Category.objects.count(),
        "vendors": Vendor.objects.count(),
        "applications": VendorApplication.objects.count(),
        "orders": Order.objects.count(),
        "disputes": Dispute.objects.count(),
        "reviews": ProductReview.objects.count(),
        "payouts": Payout.objects.count(),
        "ledger": LedgerTransaction.objects.count(),
        "checkouts": Checkout.objects.count(),
    }


def test_populatedb_is_idempotent(media_root):
    out = io.StringIO()
    call_command("populatedb", "--no-progress", stdout=out)
    first = counts()
    files = media_files(media_root)
    call_command("populatedb", "--no-progress", stdout=io.StringIO())
    assert counts() == first
    assert media_files(media_root) == files

    assert Category.objects.filter(slug="数码-3c-digital").exists()
    assert Category.objects.get(slug="手机-phones").parent.slug == "数码-3c-digital"
    assert not Category.objects.get(slug="医药-pharmacy").allows_no_reason_return

    staff = User.objects.get(email="staff@example.com")
    assert staff.is_superuser and all(has_permission(staff, p) for p in PlatformPermission)
    reviewer = User.objects.get(email="reviewer@example.com")
    assert has_permission(reviewer, PlatformPermission.REVIEW_LISTINGS)
    assert not has_permission(reviewer, PlatformPermission.MANAGE_VENDORS)

    assert first["vendors"] == 3
    for vendor in Vendor.objects.all():
        # The fees section paid each store's entry fee and deposit, which activated it; the orders
        # section then deducted from Roadtrip Gear's deposit, which restricted it.
        expected = VendorStatus.RESTRICTED if vendor.slug == "roadtrip-gear" else VendorStatus.ACTIVE
        assert vendor.status == expected
        assert vendor.application.status == ApplicationStatus.APPROVED
        assert vendor.staff.get().role == VendorRole.OWNER
    assert Vendor.objects.filter(slug="华强数码-huaqiang-digital").exists()
    assert VendorApplication.objects.filter(status=ApplicationStatus.SUBMITTED).count() == 1

    # The orders section: every order state, every dispute stage and ruling, reviews, a payout.
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values) - {OrderStatus.UNPAID}
    assert Order.objects.filter(status=OrderStatus.SHIPPED, shipment__events__isnull=False).exists()
    assert Checkout.objects.filter(completed_at__isnull=True).count() == 1
    assert {DisputeStatus.AWAITING_VENDOR, DisputeStatus.AWAITING_BUYER, DisputeStatus.UNDER_ARBITRATION,
            DisputeStatus.RESOLVED} <= set(Dispute.objects.values_list("status", flat=True))
    assert set(RulingOutcome.values) <= set(Dispute.objects.values_list("ruling_outcome", flat=True))
    assert ProductReview.objects.exists() and Payout.objects.exists()
    two_stores = Order.objects.filter(shipping_address__street_address_2="demo:paid-two-stores")
    assert two_stores.values("vendor").distinct().count() == 2
    assert ledger_problems() == []

    table = out.getvalue()
    for email in ("staff@example.com", "reviewer@example.com", "shopper@example.com", "owner@west-lake-tea.example.com"):
        assert email in table


def test_sections_can_be_chosen():
    call_command("populatedb", "--no-progress", "--only", "categories", stdout=io.StringIO())
    assert Category.objects.exists() and not User.objects.exists()
    call_command("populatedb", "--no-progress", "--skip", "merchants", stdout=io.StringIO())
    assert not Vendor.objects.exists() and User.objects.filter(email="shopper@example.com").exists()


def test_generated_pdf_is_well_formed():
    data = minimal_pdf(["BUSINESS LICENCE", "Café (Hangzhou) \\ Co."])
    from django.core.files.base import ContentFile

    assert check_document(ContentFile(data)).content_type == "application/pdf"
    # Every cross-reference entry points at its object.
    xref_at = int(re.search(rb"startxref\n(\d+)", data).group(1))
    assert data[xref_at:].startswith(b"xref")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", data)]
    assert len(offsets) == 5
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)
    assert b"(Caf\xe9 \\(Hangzhou\\) \\\\ Co.) Tj" in data


def test_generated_licence_image_is_a_png():
    assert Image.open(io.BytesIO(licence_png(["BUSINESS LICENCE"]))).format == "PNG"
