"""Helpers for the vendor tests: categories, documents, and applications through the API."""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from graphql_relay import to_global_id
from PIL import Image

from backend.catalog.models import Category
from backend.core.permissions import PlatformPermission
from backend.vendors import services
from backend.vendors.models import DocumentType
from fixtures.demo.documents import minimal_pdf

from ..graphql_client import CORE_URL, GraphQLClient

APPLICATION_FIELDS = """
  id status storeName companyName contactEmail contactPhone description decisionReason decidedAt
  applicant { email }
  categories { id name slug }
  documents { id documentType contentType size url }
  vendor { id slug status staff { role user { email } } }
  decidedByEmail
  auditLog { action reason actorEmail createdAt }
"""
APPLY = (
    """
mutation($input: VendorApplicationCreateInput!) {
  vendorApplicationCreate(input: $input) {
    vendorApplication { %s }
    errors { field code message }
  }
}"""
    % APPLICATION_FIELDS
)


def pdf_upload(name: str = "licence.pdf", lines=("BUSINESS LICENCE", "Test Co.")) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, minimal_pdf(list(lines)), content_type="application/pdf")


def png_upload(name: str = "licence.png", size=(300, 200)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def gid(type_name: str, obj) -> str:
    return to_global_id(type_name, obj.pk)


def media_files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


@pytest.fixture
def categories(db):
    digital = Category.objects.create(name="数码 3C / Digital")
    phones = Category.objects.create(name="手机 / Phones", parent=digital)
    tea = Category.objects.create(name="Specialty Food")
    return [digital, phones, tea]


@pytest.fixture
def application_input(categories):
    """Variables and files for a valid application; tests change what they exercise."""

    def build(documents=None, **overrides):
        documents = documents if documents is not None else [("BUSINESS_LICENSE", pdf_upload())]
        variables = {
            "input": {
                "storeName": "华强数码 Huaqiang Digital",
                "companyName": "Shenzhen Huaqiang Digital Trading Co., Ltd.",
                "contactEmail": "Shop@Huaqiang.example.com",
                "contactPhone": "+86 755 0000 0000",
                "description": "Phones and accessories.",
                "categories": [gid("Category", c) for c in categories[:2]],
                "documents": [{"documentType": t, "file": None} for t, _ in documents],
                **overrides,
            }
        }
        files = {f"variables.input.documents.{i}.file": upload for i, (_, upload) in enumerate(documents)}
        return variables, files

    return build


@pytest.fixture
def apply(application_input):
    """Submit an application through the API as the given user; returns the mutation payload."""

    def submit(user, documents=None, **overrides):
        variables, files = application_input(documents, **overrides)
        return GraphQLClient(CORE_URL).login(user).mutate(APPLY, variables, files=files)

    return submit


@pytest.fixture
def vendors_staff(staff_factory):
    return staff_factory(PlatformPermission.MANAGE_VENDORS, email="vendors-staff@example.com")


@pytest.fixture
def make_vendor(user_factory, categories, staff_factory):
    """A store opened through the services: applied, approved; returns (vendor, owner)."""
    approver = {}

    def build(store_name: str = "Roadtrip Gear", owner=None):
        if "user" not in approver:
            approver["user"] = staff_factory(PlatformPermission.MANAGE_VENDORS)
        owner = owner or user_factory()
        application = services.vendor_application_create(
            applicant=owner,
            store_name=store_name,
            company_name=f"{store_name} Co., Ltd.",
            contact_email=owner.email,
            categories=categories[:1],
            documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())],
        )
        application = services.vendor_application_approve(actor=approver["user"], application=application)
        return application.vendor, owner

    return build
