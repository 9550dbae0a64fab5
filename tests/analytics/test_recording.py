"""Storefront events: one cheap call in the request, written in a batch by the flush, with the visitor,
the shopper, the referrer and the campaign; recorded through the public storefront API."""

import uuid

import pytest

from backend.analytics import ingest
from backend.analytics.models import Event, EventKind
from backend.analytics.recorder import MemoryBuffer, get_buffer, record
from backend.search import get_search_backend

from ..checkout.helpers import HANGZHOU, listing, store
from ..conftest import make_user
from ..orders.test_order_flow_api import buy, shop  # noqa: F401 - fixture
from .helpers import VISITOR, buffered, flushed, visit

pytestmark = pytest.mark.django_db

PRODUCT = "query($slug: String!) { product(slug: $slug) { id name } }"
VENDOR = "query($slug: String!) { vendor(slug: $slug) { id name } }"
SEARCH = "query($q: String!) { products(first: 5, filter: {search: $q}) { totalCount } }"


def test_views_and_searches_wait_in_the_buffer_and_are_written_in_one_batch(storefront_api, django_assert_max_num_queries):
    tea, _ = store("Tea House", origin=HANGZHOU)
    green = listing(tea, name="Longjing green tea").product
    get_search_backend().index_product(green)
    visit(storefront_api, page="https://shop.example.com/?utm_source=weibo&utm_medium=social&utm_campaign=spring",
          referrer="https://www.weibo.com/some/post")
    assert storefront_api.execute(PRODUCT, {"slug": green.slug})["product"]["name"] == "Longjing green tea"
    storefront_api.execute(VENDOR, {"slug": tea.slug})
    assert storefront_api.execute(SEARCH, {"q": "Longjing"})["products"]["totalCount"] == 1
    storefront_api.execute(SEARCH, {"q": "zzzznothing"})
    storefront_api.execute(PRODUCT, {"slug": "no-such-listing"})
    assert Event.objects.count() == 0 and buffered() == 5

    with django_assert_max_num_queries(8):  # listings, stores, one count per searched term, the insert
        assert flushed() == 4  # the view of a listing that does not exist is dropped
    assert buffered() == 0
    events = {(e.kind, e.search_term): e for e in Event.objects.all()}
    view = events[(EventKind.PRODUCT_VIEW, "")]
    assert (view.product_id, view.vendor_id, view.category_id) == (green.pk, tea.pk, green.category_id)
    assert view.visitor_id == VISITOR and view.user_id is None
    assert (view.utm_source, view.utm_medium, view.utm_campaign) == ("weibo", "social", "spring")
    assert view.source == "weibo" and view.referrer == "https://www.weibo.com/some/post"
    assert events[(EventKind.STORE_VIEW, "")].vendor_id == tea.pk
    assert events[(EventKind.SEARCH, "Longjing")].search_results == 1
    assert events[(EventKind.SEARCH, "zzzznothing")].search_results == 0


def test_the_signed_in_shopper_and_a_referrer_without_campaign(storefront_api):
    tea, _ = store("Tea House", origin=HANGZHOU)
    product = listing(tea).product
    shopper = make_user()
    storefront_api.login(shopper)
    storefront_api.client.defaults.update(HTTP_X_PAGE_REFERRER="https://www.baidu.com/s?wd=tea")
    storefront_api.execute(PRODUCT, {"slug": product.slug})
    flushed()
    event = Event.objects.get()
    assert event.user_id == shopper.pk and event.visitor_id == f"user:{shopper.pk}"
    assert event.source == "baidu.com"


def test_a_bad_visitor_id_is_replaced_and_anonymous_visitors_are_told_apart(storefront_api):
    tea, _ = store("Tea House", origin=HANGZHOU)
    product = listing(tea).product
    visit(storefront_api, visitor="<script>")
    storefront_api.execute(PRODUCT, {"slug": product.slug})
    flushed()
    event = Event.objects.get()
    assert event.visitor_id.startswith("anon:") and event.source == "direct"


def test_cart_checkout_and_orders_are_recorded_only_when_their_transaction_commits(
    storefront_api, shop, django_capture_on_commit_callbacks  # noqa: F811
):
    visit(storefront_api, page="https://shop.example.com/?utm_source=newsletter")
    with django_capture_on_commit_callbacks(execute=True):
        _, completion = buy(storefront_api, shop)
    assert completion["errors"] == []
    with django_capture_on_commit_callbacks(execute=True):
        _, declined = buy(storefront_api, shop, green=1, scarf=1, token="decline")
    assert declined["errors"]
    flushed()
    kinds = sorted(Event.objects.values_list("kind", flat=True))
    # Two checkouts put both stores' listings in the cart and were started; one placed two orders.
    assert kinds.count(EventKind.ADD_TO_CART) == 4
    assert kinds.count(EventKind.CHECKOUT_STARTED) == 2
    placed = Event.objects.filter(kind=EventKind.ORDER_PLACED)
    assert {e.vendor_id for e in placed} == {shop["tea"].pk, shop["silk"].pk}
    assert {e.visitor_id for e in placed} == {VISITOR} and {e.source for e in placed} == {"newsletter"}
    assert len({e.order_id for e in placed}) == 2


def test_orders_placed_outside_a_request_belong_to_the_checkouts_visitor():
    token = uuid.uuid4()
    ingest.write_events([
        {"event_id": uuid.uuid4().hex, "kind": "checkout_started", "at": 1.7e9, "visitor_id": "v-12345678",
         "checkout_token": str(token), "utm_source": "weibo"},
    ])
    ingest.write_events([
        {"event_id": uuid.uuid4().hex, "kind": "order_placed", "at": 1.7e9 + 60, "checkout_token": str(token),
         "order_id": 7, "vendor_id": 3},
    ])
    placed = Event.objects.get(kind=EventKind.ORDER_PLACED)
    assert (placed.visitor_id, placed.source) == ("v-12345678", "weibo")


def test_a_batch_written_twice_is_written_once():
    rows = [{"event_id": uuid.uuid4().hex, "kind": "search", "at": 1.7e9, "search_term": "tea", "search_results": 2}]
    ingest.write_events(rows)
    ingest.write_events(rows)
    assert Event.objects.count() == 1


def test_a_failed_write_keeps_the_events_for_the_next_flush(monkeypatch):
    buffer = MemoryBuffer()
    buffer.add({"event_id": uuid.uuid4().hex, "kind": "search", "at": 1.7e9, "search_term": "tea", "search_results": 1})

    def broken(rows):
        raise RuntimeError("database away")

    monkeypatch.setattr(ingest, "write_events", broken)
    with pytest.raises(RuntimeError):
        buffer.flush()
    assert len(buffer) == 1
    monkeypatch.undo()
    assert buffer.flush() == 1 and Event.objects.count() == 1


def test_recording_never_raises_into_the_caller(settings, monkeypatch):
    def broken(row):
        raise ConnectionError("redis away")

    monkeypatch.setattr(get_buffer(), "add", broken)
    record("search", search_term="tea")  # logged, not raised


def test_recording_off(settings, storefront_api):
    settings.ANALYTICS_ENABLED = False
    tea, _ = store("Tea House", origin=HANGZHOU)
    storefront_api.execute(PRODUCT, {"slug": listing(tea).product.slug})
    assert buffered() == 0


