import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from backend.vendors import services
from backend.vendors.models import DocumentType
from ..graphql_client import CORE_URL, GraphQLClient
from .conftest import pdf_upload, png_upload
from .test_onboarding_api import APPLICATIONS
from .test_vendor_api import VENDORS

pytestmark = pytest.mark.django_db

def test_measure(user_factory, vendors_staff, categories):
    for index in range(20):
        a = user_factory()
        app = services.vendor_application_create(applicant=a, store_name=f"S{index}", company_name="C", contact_email=a.email,
            categories=categories, documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload()), (DocumentType.TRADEMARK_CERTIFICATE, png_upload())])
        services.vendor_application_approve(actor=vendors_staff, application=app)
    api = GraphQLClient(CORE_URL).login(vendors_staff)
    for q, name in ((APPLICATIONS, "vendorApplications"), (VENDORS, "vendors")):
        for n in (2, 20):
            with CaptureQueriesContext(connection) as c:
                api.execute(q, {"first": n})
            print(name, n, len(c.captured_queries))
            if n == 20 and name == "vendors":
                for x in c.captured_queries: print("   ", x["sql"][:150])
