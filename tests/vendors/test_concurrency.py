"""Racing decisions on PostgreSQL: the row lock lets exactly one of them through.

Each thread has its own connection and transaction; a barrier makes them race.
"""

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.vendors import services
from backend.vendors.models import DocumentType, Vendor, VendorApplication, VendorRole, VendorStaff

from ..concurrency import POSTGRESQL_RACE, race
from .conftest import pdf_upload

pytestmark = POSTGRESQL_RACE


def test_concurrent_approvals_open_one_store(user_factory, staff_factory, categories):
    applicant = user_factory()
    application = services.vendor_application_create(
        applicant=applicant,
        store_name="Race Store",
        company_name="Race Co.",
        contact_email=applicant.email,
        categories=categories[:1],
        documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())],
    )
    staff = staff_factory(PlatformPermission.MANAGE_VENDORS)
    results = race(lambda _i: services.vendor_application_approve(actor=staff, application=application), 4)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 3, results
    assert {r.code.name for r in refused} == {"INVALID_TRANSITION"}
    assert Vendor.objects.count() == 1
    assert VendorStaff.objects.get(user=applicant).role == VendorRole.OWNER


def test_concurrent_applications_keep_one_open(user_factory, categories):
    applicant = user_factory()

    def apply(i):
        return services.vendor_application_create(
            applicant=applicant,
            store_name=f"Store {i}",
            company_name="Co.",
            contact_email=applicant.email,
            categories=categories[:1],
            documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())],
        )

    results = race(apply, 4)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert {r.code.name for r in refused} == {"ALREADY_APPLIED"}, results
    assert VendorApplication.objects.filter(applicant=applicant).count() == 1


def test_two_owners_cannot_remove_each_other(make_vendor, user_factory):
    vendor, owner = make_vendor()
    co_owner = user_factory()
    second = VendorStaff.objects.create(vendor=vendor, user=co_owner, role=VendorRole.OWNER)
    first = VendorStaff.objects.get(user=owner)
    results = race(
        lambda i: services.vendor_staff_remove(actor=[owner, co_owner][i], staff=[second, first][i]), 2
    )
    # Whoever comes second is no longer an owner, or would remove the last one.
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and refused[0].code.name in ("LAST_OWNER", "PERMISSION_DENIED"), results
    assert vendor.staff.filter(role=VendorRole.OWNER).count() == 1
