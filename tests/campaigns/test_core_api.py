"""The core API: staff create, open, change and cancel campaigns and review enrolments; stores
see open and live campaigns, enrol their own variants and see only their own enrolments; lists
run a constant number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.logistics.models import PricingEvent

from ..checkout.helpers import HANGZHOU, TABLE_RATE, listing, store
from ..conftest import make_user
from ..graphql_client import GraphQLClient, error_codes
from .helpers import approved, campaign, campaign_staff, enrol

pytestmark = pytest.mark.django_db

ERRORS = "errors { field code message }"
CAMPAIGN = """id name slug status badge startsAt endsAt enrolmentDeadline minDiscountPercent maxUnitsPerVariant
  categories shippingEvents { id name startsAt endsAt active }"""
CREATE = f"""mutation($input: CampaignInput!, $open: Boolean) {{ campaignCreate(input: $input, open: $open) {{
  campaign {{ {CAMPAIGN} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: CampaignInput!) {{ campaignUpdate(id: $id, input: $input) {{
  campaign {{ {CAMPAIGN} }} {ERRORS} }} }}"""
CANCEL = f"""mutation($id: ID!) {{ campaignCancel(id: $id, reason: "Postponed") {{ campaign {{ status }} {ERRORS} }} }}"""
OPEN = f"""mutation($id: ID!) {{ campaignOpen(id: $id) {{ campaign {{ status }} {ERRORS} }} }}"""
ENROLMENT = "id status price { amount } regularPrice { amount } quantity soldCount remaining reason campaign { slug } vendor { name } variant { sku }"
ENROL = f"""mutation($campaign: ID!, $variant: ID!, $price: Decimal!, $quantity: Int) {{
  campaignEnrol(campaign: $campaign, variant: $variant, price: $price, quantity: $quantity) {{
  enrolment {{ {ENROLMENT} }} {ERRORS} }} }}"""
WITHDRAW = f"""mutation($id: ID!) {{ campaignWithdraw(id: $id) {{ enrolment {{ status }} {ERRORS} }} }}"""
APPROVE = f"""mutation($id: ID!) {{ campaignEnrolmentApprove(id: $id) {{ enrolment {{ status }} {ERRORS} }} }}"""
REJECT = f"""mutation($id: ID!, $reason: String!) {{ campaignEnrolmentReject(id: $id, reason: $reason) {{
  enrolment {{ status reason }} {ERRORS} }} }}"""
CAMPAIGNS = f"""query($status: [CampaignStatus!]) {{ campaigns(first: 50, filter: {{status: $status}}) {{ totalCount
  edges {{ node {{ {CAMPAIGN} }} }} }} }}"""
ENROLMENTS = f"""query($campaign: ID, $status: [CampaignEnrolmentStatus!]) {{
  campaignEnrolments(first: 50, filter: {{campaign: $campaign, status: $status}}) {{ totalCount
  edges {{ node {{ {ENROLMENT} }} }} }} }}"""


def gid(type_name, obj):
    return to_global_id(type_name, obj.pk)


def as_(api, user) -> GraphQLClient:
    """A client of its own for each user (login() changes the client it is called on)."""
    return GraphQLClient(api.url).login(user)


def test_staff_run_a_campaign_and_review_enrolments(core_api):
    tea, owner = store("Tea House", origin=HANGZHOU)
    green, black = listing(tea, price="100.00"), listing(tea, price="100.00")
    staff = campaign_staff()
    now = timezone.now()
    event = PricingEvent.objects.create(name="11.11 surcharge", carrier_id=TABLE_RATE, starts_at=now,
                                        ends_at=now + timedelta(days=40), percent_change=Decimal(10))
    staff_api = as_(core_api, staff)
    starts = (now + timedelta(days=2)).replace(microsecond=0)
    made = staff_api.mutate(CREATE, {"open": True, "input": {
        "name": "Double 11", "badge": "双11", "startsAt": starts.isoformat(),
        "endsAt": (starts + timedelta(days=1)).isoformat(), "minDiscountPercent": "10",
        "pricingEvents": [gid("PricingEvent", event)],
    }})
    assert made["errors"] == []
    shown = made["campaign"]
    assert (shown["slug"], shown["status"], shown["badge"], shown["enrolmentDeadline"]) == (
        "double-11", "OPEN_FOR_ENROLMENT", "双11", shown["startsAt"])
    assert [(e["name"], e["startsAt"]) for e in shown["shippingEvents"]] == [("11.11 surcharge", shown["startsAt"])]
    store_api = as_(core_api, owner)
    refused = store_api.mutate(ENROL, {"campaign": shown["id"], "variant": gid("ProductVariant", green), "price": "95.00"})
    assert error_codes(refused) == ["RULE_BROKEN"]
    enrolled = store_api.mutate(ENROL, {"campaign": shown["id"], "variant": gid("ProductVariant", green),
                                        "price": "80.00", "quantity": 5})
    assert enrolled["errors"] == []
    assert enrolled["enrolment"] | {"id": None} == {
        "id": None, "status": "PENDING", "price": {"amount": "80.00"}, "regularPrice": {"amount": "100.00"},
        "quantity": 5, "soldCount": 0, "remaining": 5, "reason": "", "campaign": {"slug": "double-11"},
        "vendor": {"name": "Tea House"}, "variant": {"sku": green.sku},
    }
    # A store cannot review its own enrolment; staff can.
    assert error_codes(store_api.mutate(APPROVE, {"id": enrolled["enrolment"]["id"]})) == ["PERMISSION_DENIED"]
    assert staff_api.mutate(APPROVE, {"id": enrolled["enrolment"]["id"]})["enrolment"]["status"] == "APPROVED"
    second = store_api.mutate(ENROL, {"campaign": shown["id"], "variant": gid("ProductVariant", black), "price": "85.00"})
    rejected = staff_api.mutate(REJECT, {"id": second["enrolment"]["id"], "reason": "Price not sharp enough"})
    assert rejected["enrolment"] == {"status": "REJECTED", "reason": "Price not sharp enough"}
    queue = staff_api.execute(ENROLMENTS, {"campaign": shown["id"], "status": ["APPROVED"]})["campaignEnrolments"]
    assert queue["totalCount"] == 1
    assert store_api.mutate(WITHDRAW, {"id": enrolled["enrolment"]["id"]})["enrolment"]["status"] == "WITHDRAWN"
    updated = staff_api.mutate(UPDATE, {"id": shown["id"], "input": {"name": "Double 11 Festival", "pricingEvents": []}})
    assert (updated["campaign"]["name"], updated["campaign"]["shippingEvents"]) == ("Double 11 Festival", [])
    assert staff_api.mutate(CANCEL, {"id": shown["id"]})["campaign"]["status"] == "CANCELLED"
    assert error_codes(staff_api.mutate(CANCEL, {"id": shown["id"]})) == ["INVALID_TRANSITION"]
    assert error_codes(staff_api.mutate(OPEN, {"id": shown["id"]})) == ["INVALID_TRANSITION"]


def test_stores_see_open_and_live_campaigns_and_their_own_enrolments_only(core_api):
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road")
    green, scarf = listing(tea, price="100.00"), listing(silk, price="100.00")
    staff = campaign_staff()
    opened = campaign(staff, slug="open")
    draft = campaign(staff, open_=False, slug="draft")
    mine = enrol(tea_owner, opened, green)
    theirs = enrol(silk_owner, opened, scarf)
    tea_api = as_(core_api, tea_owner)
    listed = tea_api.execute(CAMPAIGNS)["campaigns"]
    assert [e["node"]["slug"] for e in listed["edges"]] == ["open"]
    assert tea_api.execute("query($id: ID!) { campaign(id: $id) { slug } }", {"id": gid("Campaign", draft)}) == {
        "campaign": None}
    mine_listed = tea_api.execute(ENROLMENTS)["campaignEnrolments"]
    assert [e["node"]["id"] for e in mine_listed["edges"]] == [gid("CampaignEnrolment", mine)]
    # Another store's enrolment is not found: not withdrawn, not listed, not reachable as a node.
    assert error_codes(tea_api.mutate(WITHDRAW, {"id": gid("CampaignEnrolment", theirs)})) == ["NOT_FOUND"]
    assert tea_api.execute("query($id: ID!) { node(id: $id) { id } }", {"id": gid("CampaignEnrolment", theirs)}) == {
        "node": None}
    # Another store's variant cannot be enrolled.
    assert error_codes(tea_api.mutate(ENROL, {"campaign": gid("Campaign", opened), "variant": gid("ProductVariant", scarf),
                                              "price": "50.00"})) == ["NOT_FOUND"]
    # A store cannot create campaigns; a shopper sees nothing.
    assert error_codes(tea_api.mutate(CREATE, {"input": {"name": "Mine"}})) == ["PERMISSION_DENIED"]
    shopper_api = as_(core_api, make_user())
    assert shopper_api.execute(CAMPAIGNS)["campaigns"]["totalCount"] == 0
    assert shopper_api.execute(ENROLMENTS)["campaignEnrolments"]["totalCount"] == 0
    staff_api = as_(core_api, staff)
    assert staff_api.execute(CAMPAIGNS)["campaigns"]["totalCount"] == 2
    assert staff_api.execute(CAMPAIGNS, {"status": ["DRAFT"]})["campaigns"]["totalCount"] == 1
    assert staff_api.execute(ENROLMENTS)["campaignEnrolments"]["totalCount"] == 2


def test_lists_run_a_constant_number_of_queries(core_api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = campaign_staff()
    staff_api = as_(core_api, staff)
    now = timezone.now()

    def counts():
        found = []
        for query in (CAMPAIGNS, ENROLMENTS):
            with CaptureQueriesContext(connection) as captured:
                staff_api.execute(query)
            found.append(len(captured))
        return found

    def grow(n):
        for i in range(n):
            vendor, owner = store()
            made = campaign(staff, slug=f"c{n}-{i}")
            made.shipping_events.create(event=PricingEvent.objects.create(
                name=f"e{n}-{i}", carrier_id=TABLE_RATE, starts_at=now, ends_at=now + timedelta(days=9),
                percent_change=Decimal(5)))
            approved(owner, made, listing(vendor, price="100.00"), staff=staff)

    grow(1)
    few = counts()
    grow(4)
    assert counts() == few
