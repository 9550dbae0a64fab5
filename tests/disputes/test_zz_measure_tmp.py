import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from backend.core.permissions import PlatformPermission
from backend.disputes import services
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from . import documents as doc
from .helpers import make_world, open_dispute, upload
from .test_api import SF_DISPUTES_PAGE
pytestmark = pytest.mark.django_db

def test_measure(staff_factory):
    shopper = make_world().shopper
    for _ in range(5):
        w = make_world(shopper=shopper)
        d = open_dispute(w, evidence=[upload()])
        services.dispute_message_add(actor=w.owner, dispute=d, body="x", evidence=[upload()])
    core = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.ARBITRATE_DISPUTES))
    sf = GraphQLClient(STOREFRONT_URL).login(shopper)
    with CaptureQueriesContext(connection) as c1:
        core.execute(doc.DISPUTES, {"first": 10})
    with CaptureQueriesContext(connection) as c2:
        sf.execute(SF_DISPUTES_PAGE)
    d = services.Dispute.objects.first()
    from graphql_relay import to_global_id
    with CaptureQueriesContext(connection) as c3:
        core.execute(doc.DISPUTE, {"id": to_global_id("Dispute", d.pk)})
    print("\nCORE LIST", len(c1.captured_queries), "SF LIST", len(c2.captured_queries), "CORE DETAIL", len(c3.captured_queries))
