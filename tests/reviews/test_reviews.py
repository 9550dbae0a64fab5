"""Product reviews: only after receipt, once per line, ratings recomputed under the product lock;
storefront product reviews/rating and store rating without N+1; staff hide abusive reviews."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.core.audit import audit_trail
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.orders import services as orders
from backend.reviews import services
from backend.reviews.models import ProductReview

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..graphql_client import error_codes

pytestmark = pytest.mark.django_db

CREATE = """
mutation($line: ID!, $rating: Int!, $comment: String) {
  productReviewCreate(orderLine: $line, rating: $rating, comment: $comment) {
    review { id rating comment authorName }
    errors { field code message }
  }
}"""

PRODUCT = """
query($slug: String!, $first: Int, $after: String) {
  product(slug: $slug) {
    rating { average count }
    reviews(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { rating comment authorName createdAt } }
    }
  }
}"""

VENDOR = """
query($slug: String!) { vendor(slug: $slug) { name rating { average count } } }
"""


@pytest.fixture
def tea_house():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    green = listing(vendor, price="30.00", stock=50, name="Green tea")
    black = listing(vendor, price="40.00", stock=50, name="Black tea")
    return vendor, owner, green, black


def bought(owner, variants, *, receive=True, shopper=None):
    """A shopper's order of one of each variant; shipped and received unless told otherwise."""
    shopper = shopper or make_user()
    shopper.first_name, shopper.last_name = "Li", "Lei"
    shopper.save()
    (order,) = complete(ready_checkout(shopper, [(v, 1) for v in variants]), user=shopper).orders
    if receive:
        orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
        orders.order_confirm_receipt(actor=shopper, order=order)
    return shopper, list(order.lines.order_by("pk"))


def create(api, line, rating, comment=None):
    return api.mutate(CREATE, {"line": to_global_id("OrderLine", line.pk), "rating": rating, "comment": comment})


def code(exc_info):
    return exc_info.value.code.name


def test_review_after_receipt_through_the_storefront(storefront_api, tea_house):
    _vendor, owner, green, _black = tea_house
    shopper, (line,) = bought(owner, [green])
    payload = create(storefront_api.login(shopper), line, 4, "Fresh and fragrant")
    assert payload["errors"] == []
    assert payload["review"] | {"id": None} == {"id": None, "rating": 4, "comment": "Fresh and fragrant", "authorName": "Li L."}
    green.product.refresh_from_db()
    assert (green.product.rating_avg, green.product.rating_count) == (Decimal("4.00"), 1)
    again = create(storefront_api, line, 5)
    assert error_codes(again) == ["ALREADY_REVIEWED"] and again["review"] is None
    assert ProductReview.objects.count() == 1


def test_only_the_shopper_only_after_receipt_rating_in_range(storefront_api, tea_house):
    _vendor, owner, green, black = tea_house
    shopper, (line,) = bought(owner, [green], receive=False)
    api = storefront_api.login(shopper)
    assert error_codes(create(api, line, 5)) == ["ORDER_NOT_COMPLETED"]
    other_shopper, (other_line,) = bought(owner, [black])
    # Someone else's line answers like a missing one.
    assert error_codes(create(api, other_line, 5)) == ["NOT_FOUND"]
    api = storefront_api.login(other_shopper)
    for bad in (0, 6, -1):
        assert error_codes(create(api, other_line, bad)) == ["INVALID"]
    assert error_codes(api.mutate(CREATE, {"line": to_global_id("Order", other_line.pk), "rating": 3})) == [
        "NOT_FOUND"
    ]
    storefront_api.logout()
    assert error_codes(create(storefront_api, other_line, 5)) != []
    assert ProductReview.objects.count() == 0


def test_cancelled_order_cannot_be_reviewed(tea_house):
    _vendor, owner, green, _black = tea_house
    shopper, (line,) = bought(owner, [green], receive=False)
    orders.order_cancel(actor=shopper, order=line.order, reason="changed my mind")
    with pytest.raises(DomainError) as exc_info:
        services.product_review_create(actor=shopper, order_line_id=line.pk, rating=5)
    assert code(exc_info) == "ORDER_NOT_COMPLETED"


def test_average_is_exact_and_hidden_reviews_do_not_count(tea_house, staff_factory):
    _vendor, owner, green, _black = tea_house
    reviews = []
    for rating in (5, 4, 4):
        shopper, (line,) = bought(owner, [green])
        reviews.append(services.product_review_create(actor=shopper, order_line_id=line.pk, rating=rating))
    green.product.refresh_from_db()
    # 13 / 3 = 4.333..., stored to 2 places half up.
    assert (green.product.rating_avg, green.product.rating_count) == (Decimal("4.33"), 3)
    with pytest.raises(DomainError) as exc_info:
        services.product_review_hide(actor=make_user(), review=reviews[0], reason="spam")
    assert code(exc_info) == "PERMISSION_DENIED"
    moderator = staff_factory(PlatformPermission.REVIEW_LISTINGS)
    services.product_review_hide(actor=moderator, review=reviews[0], reason="abusive")
    green.product.refresh_from_db()
    assert (green.product.rating_avg, green.product.rating_count) == (Decimal("4.00"), 2)
    assert [e.action for e in audit_trail(reviews[0])] == ["review.hide"]
    for review in reviews[1:]:
        services.product_review_hide(actor=moderator, review=review, reason="abusive")
    green.product.refresh_from_db()
    assert (green.product.rating_avg, green.product.rating_count) == (None, 0)
    services.product_review_unhide(actor=moderator, review=reviews[1])
    green.product.refresh_from_db()
    assert (green.product.rating_avg, green.product.rating_count) == (Decimal("4.00"), 1)


def test_product_reviews_and_store_rating_on_the_storefront(storefront_api, tea_house, staff_factory):
    vendor, owner, green, black = tea_house
    for index, (g, b) in enumerate(((5, 2), (4, None), (3, None))):
        shopper, lines = bought(owner, [green, black] if b else [green])
        services.product_review_create(actor=shopper, order_line_id=lines[0].pk, rating=g, comment=f"review {index}")
        if b:
            services.product_review_create(actor=shopper, order_line_id=lines[1].pk, rating=b)
    hidden = ProductReview.objects.get(comment="review 1")
    services.product_review_hide(actor=staff_factory(PlatformPermission.REVIEW_LISTINGS), review=hidden, reason="abuse")
    product = storefront_api.execute(PRODUCT, {"slug": green.product.slug, "first": 1})["product"]
    assert product["rating"] == {"average": "4.00", "count": 2}
    assert product["reviews"]["totalCount"] == 2
    assert [e["node"]["comment"] for e in product["reviews"]["edges"]] == ["review 2"]
    after = product["reviews"]["pageInfo"]["endCursor"]
    rest = storefront_api.execute(PRODUCT, {"slug": green.product.slug, "first": 5, "after": after})["product"]
    assert [e["node"]["comment"] for e in rest["reviews"]["edges"]] == ["review 0"]
    # Store: (5 + 3 + 2) / 3 over both products' visible reviews.
    assert storefront_api.execute(VENDOR, {"slug": vendor.slug})["vendor"] == {
        "name": vendor.name, "rating": {"average": "3.33", "count": 3}
    }


def test_review_pages_and_store_rating_take_constant_queries(storefront_api, tea_house):
    vendor, owner, green, black = tea_house

    def review(n):
        for _ in range(n):
            shopper, lines = bought(owner, [green, black])
            for line in lines:
                services.product_review_create(actor=shopper, order_line_id=line.pk, rating=4)

    def count(query, variables):
        with CaptureQueriesContext(connection) as queries:
            storefront_api.execute(query, variables)
        return len(queries)

    review(1)
    small = (count(PRODUCT, {"slug": green.product.slug, "first": 1}), count(VENDOR, {"slug": vendor.slug}))
    review(4)
    large = (count(PRODUCT, {"slug": green.product.slug, "first": 5}), count(VENDOR, {"slug": vendor.slug}))
    assert small == large
    assert small[1] == 1  # the store and its rating in one query
