"""The storefront: live and upcoming campaigns with their badge and window, a campaign's page of
enrolled listings, the campaign price on a variant (original and campaign prices, badge,
countdown) and on checkout lines, with constant query counts on listing pages."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.campaigns import services

from ..checkout.helpers import HANGZHOU, listing, ready_checkout, store
from ..conftest import make_user
from ..factories import ProductVariantFactory
from .helpers import DAY, HOUR, approved, campaign, campaign_staff, enrol

pytestmark = pytest.mark.django_db

CAMPAIGNS = """query { campaigns { id name slug badge live startsAt endsAt } }"""
PAGE = """query($slug: String!, $first: Int!) { campaign(slug: $slug) { name badge live
  products(first: $first) { totalCount edges { node { name variants { sku price { amount }
    campaign { campaignSlug badge live price { amount } originalPrice { amount } startsAt endsAt remaining soldOut } } } } } } }"""
VARIANT = """query($slug: String!) { product(slug: $slug) { variants { sku
  campaign { campaignName badge live price { amount } originalPrice { amount } endsAt remaining } } } }"""
CHECKOUT = """query($id: ID!) { checkout(id: $id) { totalPrice { amount }
  packages { lines { quantity unitPrice { amount } campaignUnits campaign { badge price { amount } endsAt } }
    discounts { label source funder amount { amount } } } } }"""


def test_live_and_upcoming_campaigns_and_a_campaign_page(storefront_api):
    tea, owner = store("Tea House", origin=HANGZHOU)
    green, black, white = (listing(tea, price="100.00", name=n) for n in ("Green", "Black", "White"))
    staff = campaign_staff()
    now = timezone.now()
    festival = campaign(staff, name="Double 11", badge="双11", slug="double-11")
    campaign(staff, name="618", slug="618", starts=now + 3 * DAY)
    campaign(staff, name="Draft", slug="draft", open_=False)
    cancelled = campaign(staff, name="Off", slug="off")
    services.campaign_cancel(actor=staff, campaign_id=cancelled.pk)
    approved(owner, festival, green, staff=staff, price="70.00", quantity=10)
    enrol(owner, festival, black, price="80.00")  # pending: not on the page
    listed = storefront_api.execute(CAMPAIGNS)["campaigns"]
    assert [(c["slug"], c["badge"], c["live"]) for c in listed] == [("double-11", "双11", False), ("618", "618", False)]
    assert storefront_api.execute(PAGE, {"slug": "draft", "first": 10})["campaign"] is None
    page = storefront_api.execute(PAGE, {"slug": "double-11", "first": 10})["campaign"]
    assert page["products"]["totalCount"] == 1
    (variant,) = page["products"]["edges"][0]["node"]["variants"]
    assert variant["campaign"] == {
        "campaignSlug": "double-11", "badge": "双11", "live": False, "price": {"amount": "70.00"},
        "originalPrice": {"amount": "100.00"}, "startsAt": festival.starts_at.isoformat(),
        "endsAt": festival.ends_at.isoformat(), "remaining": 10, "soldOut": False,
    }
    with freeze_time(festival.starts_at + HOUR):
        shown = storefront_api.execute(VARIANT, {"slug": green.product.slug})["product"]["variants"][0]
        assert shown["campaign"]["live"] is True
        assert storefront_api.execute(CAMPAIGNS)["campaigns"][0]["live"] is True
    with freeze_time(festival.ends_at):
        assert [c["slug"] for c in storefront_api.execute(CAMPAIGNS)["campaigns"]] == ["618"]
        assert storefront_api.execute(VARIANT, {"slug": green.product.slug})["product"]["variants"][0]["campaign"] is None
    assert storefront_api.execute(VARIANT, {"slug": white.product.slug})["product"]["variants"][0]["campaign"] is None


def test_checkout_lines_show_the_campaign_price_and_the_discount(storefront_api):
    tea, owner = store("Tea House", origin=HANGZHOU)
    green = listing(tea, price="100.00", stock=20)
    festival = campaign(badge="双11")
    approved(owner, festival, green, price="70.00", quantity=3)
    shopper = make_user()
    with freeze_time(festival.starts_at + HOUR):
        checkout = ready_checkout(shopper, [(green, 4)])
        api = storefront_api.login(shopper)
        (package,) = api.execute(CHECKOUT, {"id": to_global_id("Checkout", checkout.pk)})["checkout"]["packages"]
    assert package["lines"] == [{"quantity": 4, "unitPrice": {"amount": "100.00"}, "campaignUnits": 3,
                                 "campaign": {"badge": "双11", "price": {"amount": "70.00"},
                                              "endsAt": festival.ends_at.isoformat()}}]
    assert package["discounts"] == [{"label": "双11", "source": "campaign", "funder": "STORE", "amount": {"amount": "90.00"}}]


def test_campaign_pages_and_listings_cost_the_same_for_small_and_large_pages(storefront_api):
    tea, owner = store("Tea House", origin=HANGZHOU)
    staff = campaign_staff()
    festival = campaign(staff, slug="double-11")
    for index in range(10):
        variant = listing(tea, price="100.00", name=f"Tea {index}")
        ProductVariantFactory(product=variant.product, price_amount=Decimal("120.00"))
        approved(owner, festival, variant, staff=staff, price=f"{50 + index}.00")

    def queries(first):
        with CaptureQueriesContext(connection) as captured:
            data = storefront_api.execute(PAGE, {"slug": "double-11", "first": first})
        return len(captured.captured_queries), data

    small, _ = queries(2)
    large, data = queries(10)
    assert small == large, (small, large)
    offers = [v for e in data["campaign"]["products"]["edges"] for v in e["node"]["variants"] if v["campaign"]]
    assert len(offers) == 10
