"""The caller's own inbox, preferences, favourites and restock alerts, and the analytics scope:
what the cases in cases.py cannot say with one call. A call naming one's own and another's
message changes neither; acting on one's own rows leaves everybody else's as they were; the
analytics query without a store answers with the caller's store, never another's."""

import pytest
from django.contrib.auth.models import Permission
from graphql_relay import to_global_id

from backend.catalog import services as catalog
from backend.core.permissions import PlatformPermission as P
from backend.notifications.models import Favourite, Notification, NotificationPreference, RestockAlert

from ..conftest import make_user
from .cases import MONTH, markers
from .operations import Op, call, changed_tables, fingerprint, leaks, live_schema

pytestmark = pytest.mark.django_db

ERRORS = "{ errors { field code } }"
APIS = ("core", "storefront")


def g(type_name, obj):
    return to_global_id(type_name, obj.pk)


def ok(response, name):
    assert response.status == 200 and response.top_errors == [], response.text[:1500]
    return response.data[name]


def unread(user) -> list[int]:
    return sorted(Notification.objects.filter(user=user, read_at__isnull=True).values_list("pk", flat=True))


# --- The inbox --------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_marking_ones_own_and_anothers_message_read_marks_neither(world, api):
    own = Notification.objects.filter(user=world.shopper2, read_at__isnull=True).first()
    assert own is not None
    ids = [g("Notification", own), g("Notification", world.shopper1_notification)]
    response = call(Op(api, "mutation", "notificationMarkRead"), world.shopper2, {"ids": ids}, fields=ERRORS)
    assert [e["code"] for e in ok(response, "notificationMarkRead")["errors"]] == ["NOT_FOUND"]
    assert changed_tables(world.baseline, fingerprint()) == []


@pytest.mark.parametrize("api", APIS)
def test_marking_all_read_touches_only_the_callers_inbox(world, api):
    others = {name: unread(world.user(name)) for name in ("shopper1", "alpha_owner", "bravo_owner")}
    assert all(others.values()), others
    own = unread(world.shopper2)
    response = call(Op(api, "mutation", "notificationMarkAllRead"), world.shopper2, {}, fields="{ count errors { code } }")
    assert ok(response, "notificationMarkAllRead") == {"count": len(own), "errors": []}
    assert unread(world.shopper2) == []
    assert {name: unread(world.user(name)) for name in others} == others


@pytest.mark.parametrize("api", APIS)
def test_the_unread_count_is_the_callers_own(world, api):
    op = Op(api, "query", "notificationUnreadCount")
    for name in ("shopper1", "shopper2", "alpha_owner", "alpha_operator", "superuser"):
        assert ok(call(op, world.user(name), {}, fields=""), op.name) == len(unread(world.user(name))), name
    assert ok(call(op, None, {}, fields=""), op.name) == 0


@pytest.mark.parametrize("api", APIS)
def test_signed_out_callers_cannot_mark_anything_read(world, api):
    op = Op(api, "mutation", "notificationMarkAllRead")
    response = call(op, None, {}, fields="{ count errors { code } }")
    result = ok(response, op.name)
    assert not result["count"] and result["errors"] == [{"code": "PERMISSION_DENIED"}]
    assert changed_tables(world.baseline, fingerprint()) == []


# --- Preferences ------------------------------------------------------------------------

PREFERENCE = {"event": "order.shipped", "channel": "EMAIL", "enabled": False}


@pytest.mark.parametrize("api", APIS)
def test_a_preference_is_the_callers_own(world, api):
    response = call(Op(api, "mutation", "notificationPreferenceUpdate"), world.shopper2, {"input": PREFERENCE},
                    fields="{ preference { event enabled } errors { code } }")
    assert ok(response, "notificationPreferenceUpdate") == {
        "preference": {"event": "order.shipped", "enabled": False}, "errors": []
    }
    assert list(NotificationPreference.objects.values_list("user_id", "event", "channel", "enabled")) == [
        (world.shopper2.pk, "order.shipped", "email", False)
    ]
    shown = call(Op(api, "query", "notificationPreferences"), world.shopper1, {}, fields="{ event channel enabled }")
    assert all(p["enabled"] for p in ok(shown, "notificationPreferences"))


@pytest.mark.parametrize("api", APIS)
def test_signed_out_callers_cannot_set_preferences(world, api):
    response = call(Op(api, "mutation", "notificationPreferenceUpdate"), None, {"input": PREFERENCE},
                    fields="{ preference { event } errors { code } }")
    assert ok(response, "notificationPreferenceUpdate") == {"preference": None, "errors": [{"code": "PERMISSION_DENIED"}]}
    assert changed_tables(world.baseline, fingerprint()) == []


# --- Favourites and restock alerts ------------------------------------------------------


def test_removing_a_listing_another_shopper_saved_removes_only_ones_own(world):
    product = world.alpha.products["published"]
    response = call(Op("storefront", "mutation", "favouriteRemove"), world.shopper2, {"product": g("Product", product)},
                    fields="{ removed errors { code } }")
    assert ok(response, "favouriteRemove") == {"removed": False, "errors": []}
    assert Favourite.objects.filter(pk=world.favourite.pk).exists()
    assert changed_tables(world.baseline, fingerprint()) == []


def test_unsubscribing_from_a_variant_another_shopper_waits_for_removes_only_ones_own(world):
    variant = world.alpha.soldout_variant
    response = call(Op("storefront", "mutation", "restockAlertUnsubscribe"), world.shopper2,
                    {"variant": g("ProductVariant", variant)}, fields="{ removed errors { code } }")
    assert ok(response, "restockAlertUnsubscribe") == {"removed": False, "errors": []}
    assert RestockAlert.objects.filter(pk=world.restock_alert.pk, fired_at__isnull=True).exists()
    assert changed_tables(world.baseline, fingerprint()) == []


def test_a_favourite_and_its_count_are_seen_by_the_shopper_only(world):
    favourites = Op("storefront", "query", "favourites")
    mine = ok(call(favourites, world.shopper1, {"first": 10}, fields="{ totalCount edges { node { id } } }"), "favourites")
    assert mine["edges"] == [{"node": {"id": g("Favourite", world.favourite)}}]
    for name in ("shopper2", "alpha_owner", "superuser"):
        theirs = ok(call(favourites, world.user(name), {"first": 10}, fields="{ totalCount }"), "favourites")
        assert theirs == {"totalCount": 0}, name


def test_restock_alerts_of_a_listing_taken_off_the_storefront_show_nothing_of_it(world):
    """The shopper waited for a listing the store then delisted: the list no longer shows its variant
    (like favourites of a hidden listing), so nothing of an unpublished listing reaches the storefront."""
    product = world.alpha.soldout_variant.product
    catalog.product_delist(actor=world.alpha.owner, product=product, reason="Discontinued")
    response = call(Op("storefront", "query", "restockAlerts"), world.shopper1, {},
                    fields="{ id variant { id sku price { amount } } }")
    assert ok(response, "restockAlerts") == []
    assert leaks(response.text, {g("ProductVariant", world.alpha.soldout_variant), "SOLDOUT"}) == []
    # The alert itself is kept: it shows again (and fires) if the listing comes back.
    assert RestockAlert.objects.filter(pk=world.restock_alert.pk).exists()


# --- Webhooks ---------------------------------------------------------------------------


def test_a_subscriptions_secret_is_shown_only_when_it_is_made(world):
    schema = live_schema("core")
    assert "secret" not in schema.get_type("WebhookSubscription").fields
    assert "secret" not in schema.get_type("WebhookDelivery").fields
    response = call(Op("core", "query", "webhookSubscriptions"), world.alpha.owner, {"first": 10}, depth=4)
    assert world.alpha.webhook_subscription.secret not in response.text


def test_staff_managing_plugins_see_every_stores_subscription_and_the_platforms(world):
    response = call(Op("core", "query", "webhookSubscriptions"), world.staff[P.MANAGE_PLUGINS], {"first": 10},
                    fields="{ edges { node { id } } }")
    ids = {edge["node"]["id"] for edge in ok(response, "webhookSubscriptions")["edges"]}
    assert ids == {g("WebhookSubscription", s) for s in (
        world.alpha.webhook_subscription, world.bravo.webhook_subscription, world.platform_subscription)}


# --- Analytics --------------------------------------------------------------------------

ANALYTICS = Op("core", "query", "analytics")


def analytics(world, user, **extra):
    return call(ANALYTICS, user, {**MONTH, **extra}, fields="{ vendorId totals { orders gmv { amount } } }")


@pytest.mark.parametrize("name", ["bravo_owner", "bravo_operator", "bravo_agent"])
def test_a_merchant_asking_for_no_store_gets_its_own(world, name):
    response = analytics(world, world.user(name))
    assert ok(response, "analytics")["vendorId"] == g("Vendor", world.bravo.vendor)
    assert leaks(response.text, markers(world, "alpha")) == []


@pytest.mark.parametrize("name", ["bravo_owner", "bravo_agent", "shopper1", "staff_none", "staff_manage_plugins"])
def test_another_stores_figures_are_refused(world, name):
    response = analytics(world, world.user(name), vendor=g("Vendor", world.alpha.vendor))
    assert ok(response, "analytics") is None
    assert leaks(response.text, markers(world, "alpha"), {"vendor": g("Vendor", world.alpha.vendor)}) == []


@pytest.mark.parametrize("name", ["anonymous", "shopper1", "staff_none", "staff_manage_vendors"])
def test_the_platforms_figures_need_finance_or_the_analytics_permission(world, name):
    assert ok(analytics(world, world.user(name)), "analytics") is None


def test_staff_holding_the_analytics_permission_see_every_store_and_the_platform(world):
    analyst = make_user("analyst@platform.example", is_staff=True)
    analyst.user_permissions.add(Permission.objects.get(content_type__app_label="analytics", codename="view_analytics"))
    platform = ok(analytics(world, analyst), "analytics")
    assert platform is not None and platform["vendorId"] is None
    store = ok(analytics(world, analyst, vendor=g("Vendor", world.alpha.vendor)), "analytics")
    assert store["vendorId"] == g("Vendor", world.alpha.vendor)
    # The permission without staff status is nothing.
    outsider = make_user("outsider@example.com")
    outsider.user_permissions.add(Permission.objects.get(content_type__app_label="analytics", codename="view_analytics"))
    assert ok(analytics(world, outsider, vendor=g("Vendor", world.alpha.vendor)), "analytics") is None


def test_email_deliveries_are_in_nobodys_webhook_log(world):
    """The outbox's emails carry a user's messages: not the store's, not even plugin staff's to read."""
    from backend.notifications.models import Delivery

    email = Delivery.objects.filter(channel="email", user=world.shopper1).first()
    assert email is not None
    for name in ("shopper1", "alpha_owner", "staff_manage_plugins", "superuser"):
        response = call(Op("core", "query", "node"), world.user(name), {"id": g("WebhookDelivery", email)},
                        fields="{ id }")
        assert ok(response, "node") is None, name
        listed = call(Op("core", "query", "webhookDeliveries"), world.user(name), {"first": 100},
                      fields="{ edges { node { id } } }")
        assert g("WebhookDelivery", email) not in listed.text, name


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/admin", "http://169.254.169.254/latest/meta-data"])
def test_a_stores_subscription_cannot_be_pointed_at_a_private_address(world, settings, url):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = call(Op("core", "mutation", "webhookSubscriptionUpdate"), world.alpha.owner,
                    {"id": g("WebhookSubscription", world.alpha.webhook_subscription), "input": {"url": url}},
                    fields="{ webhookSubscription { url } errors { field code } }")
    assert ok(response, "webhookSubscriptionUpdate") == {
        "webhookSubscription": None, "errors": [{"field": "url", "code": "FORBIDDEN_TARGET"}]
    }
    assert changed_tables(world.baseline, fingerprint()) == []
