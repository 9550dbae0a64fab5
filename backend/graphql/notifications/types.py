import graphene
from graphene_django import DjangoObjectType

from backend.notifications import models, services
from backend.notifications.error_codes import NotificationErrorCode

from ..core.types import CountableConnection, choices_enum, error_type

NotificationError = error_type("NotificationError", NotificationErrorCode)

NotificationChannelEnum = choices_enum("NotificationChannel", models.Channel)
DeliveryStatusEnum = choices_enum("WebhookDeliveryStatus", models.DeliveryStatus)


class NotificationType(DjangoObjectType):
    event = graphene.String(required=True, description="The event's name, e.g. order.shipped.")
    is_read = graphene.Boolean(required=True)

    class Meta:
        model = models.Notification
        name = "Notification"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "title", "body", "read_at", "created_at")
        description = "A message in the signed-in user's inbox, in the user's language."

    @classmethod
    def get_queryset(cls, queryset, info):
        user = info.context.user
        if user is None or not user.is_authenticated:
            return queryset.none()
        return queryset.filter(user_id=user.pk).select_related("event")

    @staticmethod
    def resolve_event(root, _info):
        return root.event.name

    @staticmethod
    def resolve_is_read(root, _info):
        return root.read_at is not None


class NotificationPreferenceType(graphene.ObjectType):
    event = graphene.String(required=True)
    channel = NotificationChannelEnum(required=True)
    enabled = graphene.Boolean(required=True)
    description = graphene.String(required=True)
    money_deadline = graphene.Boolean(
        required=True, description="A reminder of a deadline that moves money: switching it off needs a confirmation."
    )

    class Meta:
        name = "NotificationPreference"

    @staticmethod
    def resolve_channel(root, _info):
        return models.Channel(root["channel"])

    @staticmethod
    def resolve_event(root, _info):
        return root["event"]

    @staticmethod
    def resolve_enabled(root, _info):
        return root["enabled"]

    @staticmethod
    def resolve_description(root, _info):
        return root["description"]

    @staticmethod
    def resolve_money_deadline(root, _info):
        return root["money_deadline"]


class WebhookDeliveryAttemptType(DjangoObjectType):
    class Meta:
        model = models.DeliveryAttempt
        name = "WebhookDeliveryAttempt"
        fields = ("number", "succeeded", "response_status", "error", "duration_ms", "created_at")
        description = "One try of a webhook delivery."


class WebhookDeliveryType(DjangoObjectType):
    event = graphene.String(required=True)
    status = DeliveryStatusEnum(required=True)
    attempt_log = graphene.List(graphene.NonNull(WebhookDeliveryAttemptType), required=True,
                                description="Every try, newest first.")
    payload = graphene.JSONString(required=True, description="The event's data, as sent in the body.")

    class Meta:
        model = models.Delivery
        name = "WebhookDelivery"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "attempts", "last_error", "next_attempt_at", "sent_at", "created_at", "subscription")
        description = "One event sent (or to be sent) to a webhook subscription: the delivery log."

    @classmethod
    def get_queryset(cls, queryset, info):
        return services.visible_deliveries(info.context.user, queryset).select_related("event").prefetch_related("attempt_log")

    @staticmethod
    def resolve_event(root, _info):
        return root.event.name

    @staticmethod
    def resolve_status(root, _info):
        return models.DeliveryStatus(root.status)

    @staticmethod
    def resolve_attempt_log(root, _info):
        return root.attempt_log.all()

    @staticmethod
    def resolve_payload(root, _info):
        return root.event.payload


class WebhookSubscriptionType(DjangoObjectType):
    events = graphene.List(graphene.NonNull(graphene.String), required=True,
                           description="The events it receives; empty: every event it may see.")

    class Meta:
        model = models.WebhookSubscription
        name = "WebhookSubscription"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "url", "is_active", "vendor", "created_at")
        description = "An outgoing webhook: a store's (its own events) or the platform's (every event)."

    @classmethod
    def get_queryset(cls, queryset, info):
        return services.visible_subscriptions(info.context.user, queryset)

    @staticmethod
    def resolve_events(root, _info):
        return root.events or []
