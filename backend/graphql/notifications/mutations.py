import graphene

from backend.notifications import services

from ..core.lookups import filter_key
from ..core.mutations import BaseMutation
from ..core.nodes import get_node
from .types import (
    NotificationChannelEnum,
    NotificationError,
    NotificationPreferenceType,
    NotificationType,
    WebhookDeliveryType,
    WebhookSubscriptionType,
)


class NotificationMarkRead(BaseMutation):
    notifications = graphene.List(graphene.NonNull(NotificationType))

    class Arguments:
        ids = graphene.List(graphene.NonNull(graphene.ID), required=True)

    class Meta:
        description = "Mark messages of your inbox read."
        error_type_class = NotificationError

    @classmethod
    def perform_mutation(cls, _root, info, ids):
        keys = [filter_key(i, "Notification") for i in ids]
        found = services.notification_mark_read(actor=info.context.user, notification_ids=keys)
        return cls(notifications=found, errors=[])


class NotificationMarkAllRead(BaseMutation):
    count = graphene.Int(description="How many messages were unread.")

    class Meta:
        description = "Mark every message of your inbox read."
        error_type_class = NotificationError

    @classmethod
    def perform_mutation(cls, _root, info):
        return cls(count=services.notification_mark_all_read(actor=info.context.user), errors=[])


class NotificationPreferenceInput(graphene.InputObjectType):
    event = graphene.String(required=True)
    channel = NotificationChannelEnum(required=True)
    enabled = graphene.Boolean(required=True)
    confirm_money_deadline = graphene.Boolean(
        description="Needed to switch off the reminder of a deadline after which money moves automatically."
    )


class NotificationPreferenceUpdate(BaseMutation):
    preference = graphene.Field(NotificationPreferenceType)

    class Arguments:
        input = NotificationPreferenceInput(required=True)

    class Meta:
        description = "Switch one event's email or inbox messages on or off for yourself."
        error_type_class = NotificationError

    @classmethod
    def perform_mutation(cls, _root, info, input):
        preference = services.notification_preference_update(
            actor=info.context.user, event=input["event"], channel=getattr(input["channel"], "value", input["channel"]),
            enabled=input["enabled"], confirm_money_deadline=bool(input.get("confirm_money_deadline")),
        )
        return cls(preference=preference, errors=[])


class WebhookSubscriptionCreateInput(graphene.InputObjectType):
    vendor = graphene.ID(description="The store whose events it receives; omitted: the platform's (MANAGE_PLUGINS).")
    url = graphene.String(required=True)
    events = graphene.List(graphene.NonNull(graphene.String), description="Event names; omitted: every event.")


class WebhookSubscriptionCreate(BaseMutation):
    webhook_subscription = graphene.Field(WebhookSubscriptionType)
    secret = graphene.String(description="The signing secret; shown only here.")

    class Arguments:
        input = WebhookSubscriptionCreateInput(required=True)

    class Meta:
        description = "Subscribe a URL to a store's events (its owner or operators) or every event (MANAGE_PLUGINS)."
        error_type_class = NotificationError

    @classmethod
    def perform_mutation(cls, _root, info, input):
        vendor_id = filter_key(input["vendor"], "Vendor") if input.get("vendor") else None
        subscription = services.webhook_subscription_create(
            actor=info.context.user, vendor_id=vendor_id, url=input["url"], events=input.get("events")
        )
        return cls(webhook_subscription=subscription, secret=subscription.secret, errors=[])


class WebhookSubscriptionUpdateInput(graphene.InputObjectType):
    url = graphene.String()
    events = graphene.List(graphene.NonNull(graphene.String))
    is_active = graphene.Boolean()


class WebhookSubscriptionUpdate(BaseMutation):
    webhook_subscription = graphene.Field(WebhookSubscriptionType)

    class Arguments:
        id = graphene.ID(required=True)
        input = WebhookSubscriptionUpdateInput(required=True)

    class Meta:
        description = "Change a webhook subscription's URL or events, or switch it off."
        error_type_class = NotificationError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        subscription = services.webhook_subscription_update(
            actor=info.context.user, subscription=get_node(info, id, WebhookSubscriptionType),
            url=input.get("url"), events=input.get("events"), is_active=input.get("is_active"),
        )
        return cls(webhook_subscription=subscription, errors=[])


class WebhookSubscriptionDelete(BaseMutation):
    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Delete a webhook subscription (and its delivery log)."
        error_type_class = NotificationError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        services.webhook_subscription_delete(actor=info.context.user, subscription=get_node(info, id, WebhookSubscriptionType))
        return cls(errors=[])


class WebhookSubscriptionTestSend(BaseMutation):
    delivery = graphene.Field(WebhookDeliveryType, description="The test delivery, after its first try.")

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Send a signed webhook.test event to the subscription now; its answer is in the delivery log."
        error_type_class = NotificationError
        atomic = False  # the receiver is called with no transaction open

    @classmethod
    def perform_mutation(cls, _root, info, id):
        delivery = services.webhook_subscription_test_send(
            actor=info.context.user, subscription=get_node(info, id, WebhookSubscriptionType)
        )
        return cls(delivery=delivery, errors=[])
