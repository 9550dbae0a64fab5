"""The inbox, preferences and webhooks on the core API; inbox, favourites and restock alerts on the storefront."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.catalog import services as catalog
from backend.core.permissions import PlatformPermission
from backend.notifications.models import Favourite, Notification, WebhookSubscription

from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

INBOX = """
query($first: Int, $unreadOnly: Boolean) {
  notifications(first: $first, unreadOnly: $unreadOnly) {
    totalCount
    edges { node { id event title body isRead createdAt } }
  }
  notificationUnreadCount
}"""
MARK_READ = """
mutation($ids: [ID!]!) { notificationMarkRead(ids: $ids) { notifications { id isRead } errors { field code message } } }"""
MARK_ALL = "mutation { notificationMarkAllRead { count errors { code } } }"


def after_commit():
    return TestCase.captureOnCommitCallbacks(execute=True)


def orders_for(shopper, count=1):
    vendor, owner = store(None)
    for _ in range(count):
        complete(ready_checkout(shopper, [(listing(vendor, price="10.00"), 1)]), user=shopper)
    return vendor, owner


def queries(api, query, variables):
    with CaptureQueriesContext(connection) as captured:
        api.execute(query, variables)
    return len(captured)


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_the_inbox_lists_counts_and_marks_read_in_constant_sql(url):
    shopper = make_user()
    _vendor, owner = orders_for(make_user(), count=3)  # the merchant: placed and paid, 3 times
    api = GraphQLClient(url).login(owner)
    data = api.execute(INBOX, {"first": 10})
    assert data["notifications"]["totalCount"] == 6 and data["notificationUnreadCount"] == 6
    assert {e["node"]["event"] for e in data["notifications"]["edges"]} == {"order.placed", "order.paid"}
    first_id = data["notifications"]["edges"][0]["node"]["id"]

    few = queries(api, INBOX, {"first": 2})
    many = queries(api, INBOX, {"first": 10})
    assert few == many

    marked = api.execute(MARK_READ, {"ids": [first_id]})["notificationMarkRead"]
    assert marked["errors"] == [] and marked["notifications"][0]["isRead"] is True
    assert api.execute(INBOX, {"first": 10, "unreadOnly": True})["notifications"]["totalCount"] == 5
    # Someone else's message answers like one that does not exist, and changes nothing.
    other = GraphQLClient(url).login(shopper)
    refused = other.execute(MARK_READ, {"ids": [first_id]})["notificationMarkRead"]
    assert refused["errors"][0]["code"] == "NOT_FOUND"
    assert other.execute(INBOX, {"first": 10})["notifications"]["totalCount"] == 0
    assert api.execute(MARK_ALL)["notificationMarkAllRead"]["count"] == 5
    assert api.execute(INBOX, {"first": 1})["notificationUnreadCount"] == 0


def test_signed_out_callers_see_no_inbox():
    assert GraphQLClient(STOREFRONT_URL).execute(INBOX, {"first": 5})["notificationUnreadCount"] == 0
    assert GraphQLClient(CORE_URL).execute(INBOX, {"first": 5})["notifications"]["totalCount"] == 0
    failed = GraphQLClient(STOREFRONT_URL).execute(MARK_ALL)["notificationMarkAllRead"]
    assert failed["errors"][0]["code"] == "PERMISSION_DENIED"


PREFERENCE = """
mutation($input: NotificationPreferenceInput!) {
  notificationPreferenceUpdate(input: $input) {
    preference { event channel enabled moneyDeadline }
    errors { field code message }
  }
}"""


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_preferences_on_both_apis(url):
    api = GraphQLClient(url).login(make_user())
    listed = api.execute("{ notificationPreferences { event channel enabled moneyDeadline } }")["notificationPreferences"]
    assert {"event": "order.shipped", "channel": "EMAIL", "enabled": True, "moneyDeadline": False} in listed
    due = {"event": "order.confirmation_due", "channel": "EMAIL", "enabled": False}
    refused = api.execute(PREFERENCE, {"input": due})["notificationPreferenceUpdate"]
    assert refused["errors"][0]["code"] == "CONFIRMATION_REQUIRED"
    assert refused["errors"][0]["field"] == "confirmMoneyDeadline"
    done = api.execute(PREFERENCE, {"input": {**due, "confirmMoneyDeadline": True}})["notificationPreferenceUpdate"]
    assert done == {"preference": {"event": "order.confirmation_due", "channel": "EMAIL", "enabled": False,
                                   "moneyDeadline": True}, "errors": []}
    unknown = api.execute(PREFERENCE, {"input": {**due, "event": "order.lost"}})["notificationPreferenceUpdate"]
    assert unknown["errors"][0]["code"] == "INVALID"


CREATE_HOOK = """
mutation($input: WebhookSubscriptionCreateInput!) {
  webhookSubscriptionCreate(input: $input) {
    webhookSubscription { id url events isActive vendor { id } }
    secret
    errors { field code message }
  }
}"""
TEST_SEND = """
mutation($id: ID!) {
  webhookSubscriptionTestSend(id: $id) {
    delivery { id event status attempts lastError attemptLog { number succeeded responseStatus } }
    errors { code message }
  }
}"""
DELIVERIES = """
query($subscription: ID) {
  webhookDeliveries(first: 20, subscription: $subscription) {
    totalCount
    edges { node { event status attempts payload attemptLog { number succeeded responseStatus error } } }
  }
}"""


def test_a_store_subscribes_test_sends_and_reads_its_delivery_log(receiver):
    vendor, owner = store(None)
    api = GraphQLClient(CORE_URL).login(owner)
    created = api.execute(CREATE_HOOK, {"input": {"vendor": to_global_id("Vendor", vendor.pk), "url": receiver.url,
                                                  "events": ["order.paid"]}})["webhookSubscriptionCreate"]
    assert created["errors"] == [] and created["webhookSubscription"]["events"] == ["order.paid"]
    receiver.secret = created["secret"]
    hook_id = created["webhookSubscription"]["id"]
    sent = api.execute(TEST_SEND, {"id": hook_id})["webhookSubscriptionTestSend"]
    assert sent["delivery"]["status"] == "SENT" and sent["delivery"]["attemptLog"] == [
        {"number": 1, "succeeded": True, "responseStatus": 204}
    ]
    assert receiver.events() == ["webhook.test"]
    shopper = make_user()
    with after_commit():
        complete(ready_checkout(shopper, [(listing(vendor), 1)]), user=shopper)
    log = api.execute(DELIVERIES, {"subscription": hook_id})["webhookDeliveries"]
    assert log["totalCount"] == 2
    assert [e["node"]["event"] for e in log["edges"]] == ["order.paid", "webhook.test"]
    assert log["edges"][0]["node"]["payload"]  # the JSON sent
    # Another store sees none of it and cannot use it.
    _other, stranger = store(None)
    outsider = GraphQLClient(CORE_URL).login(stranger)
    assert outsider.execute(DELIVERIES, {"subscription": hook_id})["webhookDeliveries"]["totalCount"] == 0
    assert outsider.execute(TEST_SEND, {"id": hook_id})["webhookSubscriptionTestSend"]["errors"][0]["code"] == "NOT_FOUND"
    # Platform staff read every log.
    staff = GraphQLClient(CORE_URL).login(make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_PLUGINS]))
    assert staff.execute(DELIVERIES, {})["webhookDeliveries"]["totalCount"] == 2


def test_subscriptions_refuse_private_targets_and_other_stores(settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    vendor, owner = store(None)
    other, _ = store(None)
    api = GraphQLClient(CORE_URL).login(owner)
    refused = api.execute(CREATE_HOOK, {"input": {"vendor": to_global_id("Vendor", vendor.pk),
                                                  "url": "http://127.0.0.1:8000/x"}})["webhookSubscriptionCreate"]
    assert refused["errors"][0]["code"] == "FORBIDDEN_TARGET" and refused["errors"][0]["field"] == "url"
    theirs = api.execute(CREATE_HOOK, {"input": {"vendor": to_global_id("Vendor", other.pk),
                                                 "url": "https://erp.example.com/hook"}})["webhookSubscriptionCreate"]
    assert theirs["errors"][0]["code"] == "PERMISSION_DENIED"
    platform = api.execute(CREATE_HOOK, {"input": {"url": "https://erp.example.com/hook"}})["webhookSubscriptionCreate"]
    assert platform["errors"][0]["code"] == "PERMISSION_DENIED"
    assert WebhookSubscription.objects.count() == 0


FAVOURITE_ADD = """
mutation($product: ID, $vendor: ID) {
  favouriteAdd(product: $product, vendor: $vendor) {
    favourite { id product { name favouriteCount } vendor { name favouriteCount } }
    errors { field code message }
  }
}"""
FAVOURITES = """
query($first: Int, $kind: FavouriteKind) {
  favourites(first: $first, kind: $kind) {
    totalCount
    edges { node { id product { id name favouriteCount vendor { name } } vendor { id name favouriteCount } } }
  }
}"""


def test_favourites_add_remove_list_and_count():
    vendor, _owner = store(None)
    variants = [listing(vendor, name=f"Tea {i}") for i in range(6)]
    shopper, other = make_user(), make_user()
    api = GraphQLClient(STOREFRONT_URL).login(shopper)
    product_id = str(to_global_id("Product", variants[0].product_id))
    added = api.execute(FAVOURITE_ADD, {"product": product_id})["favouriteAdd"]
    assert added["errors"] == [] and added["favourite"]["product"] == {"name": "Tea 0", "favouriteCount": 1}
    again = api.execute(FAVOURITE_ADD, {"product": product_id})["favouriteAdd"]
    assert again["favourite"]["id"] == added["favourite"]["id"]
    GraphQLClient(STOREFRONT_URL).login(other).execute(FAVOURITE_ADD, {"product": product_id})
    for variant in variants[1:]:
        api.execute(FAVOURITE_ADD, {"product": to_global_id("Product", variant.product_id)})
    # The store last: a first page of two holds a product and a store, as the longer page does.
    store_fav = api.execute(FAVOURITE_ADD, {"vendor": to_global_id("Vendor", vendor.pk)})["favouriteAdd"]
    assert store_fav["favourite"]["vendor"]["favouriteCount"] == 1
    listed = api.execute(FAVOURITES, {"first": 20})["favourites"]
    assert listed["totalCount"] == 7
    counts = {e["node"]["product"]["name"]: e["node"]["product"]["favouriteCount"] for e in listed["edges"] if e["node"]["product"]}
    assert counts["Tea 0"] == 2 and counts["Tea 5"] == 1
    assert api.execute(FAVOURITES, {"first": 20, "kind": "VENDOR"})["favourites"]["totalCount"] == 1
    assert queries(api, FAVOURITES, {"first": 2}) == queries(api, FAVOURITES, {"first": 20})
    # The product list shows the count with no more SQL.
    product = api.execute("query($s: String!) { product(slug: $s) { favouriteCount vendor { favouriteCount } } }",
                          {"s": variants[0].product.slug})["product"]
    assert product == {"favouriteCount": 2, "vendor": {"favouriteCount": 1}}
    removed = api.execute("mutation($p: ID) { favouriteRemove(product: $p) { removed errors { code } } }", {"p": product_id})
    assert removed["favouriteRemove"] == {"removed": True, "errors": []}
    assert Favourite.objects.filter(user=shopper).count() == 6
    neither = api.execute(FAVOURITE_ADD, {})["favouriteAdd"]
    assert neither["errors"][0]["code"] == "REQUIRED"
    missing = api.execute(FAVOURITE_ADD, {"product": to_global_id("Product", 999999)})["favouriteAdd"]
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    signed_out = GraphQLClient(STOREFRONT_URL).execute(FAVOURITE_ADD, {"product": product_id})["favouriteAdd"]
    assert signed_out["errors"][0]["code"] == "PERMISSION_DENIED"


RESTOCK = """
mutation($variant: ID!) {
  restockAlertSubscribe(variant: $variant) { restockAlert { id firedAt variant { sku } } errors { field code message } }
}"""


def test_restock_alert_through_the_storefront_fires_once():
    vendor, owner = store(None)
    empty = listing(vendor, stock=0)
    full = listing(vendor, stock=3)
    shopper = make_user()
    api = GraphQLClient(STOREFRONT_URL).login(shopper)
    subscribed = api.execute(RESTOCK, {"variant": to_global_id("ProductVariant", empty.pk)})["restockAlertSubscribe"]
    assert subscribed["errors"] == [] and subscribed["restockAlert"]["firedAt"] is None
    in_stock = api.execute(RESTOCK, {"variant": to_global_id("ProductVariant", full.pk)})["restockAlertSubscribe"]
    assert in_stock["errors"][0]["code"] == "IN_STOCK"
    with after_commit():
        catalog.product_variant_update(actor=owner, variant=empty, stock=2)
    alerts = api.execute("{ restockAlerts { firedAt variant { sku } } }")["restockAlerts"]
    assert len(alerts) == 1 and alerts[0]["firedAt"] is not None
    inbox = api.execute(INBOX, {"first": 5})["notifications"]
    assert [e["node"]["event"] for e in inbox["edges"]] == ["restock.available"]
    assert Notification.objects.filter(user=shopper).count() == 1
