import graphene
from graphene_django.fields import DjangoConnectionField

from backend.notifications import services
from backend.notifications.models import Delivery, Notification, WebhookSubscription

from ..core.lookups import filter_key
from .mutations import (
    NotificationMarkAllRead,
    NotificationMarkRead,
    NotificationPreferenceUpdate,
    WebhookSubscriptionCreate,
    WebhookSubscriptionDelete,
    WebhookSubscriptionTestSend,
    WebhookSubscriptionUpdate,
)
from .types import NotificationPreferenceType, NotificationType, WebhookDeliveryType, WebhookSubscriptionType


class NotificationQueries(graphene.ObjectType):
    notifications = DjangoConnectionField(
        NotificationType, unread_only=graphene.Boolean(), description="Your inbox, newest first."
    )
    notification_unread_count = graphene.Int(required=True, description="Unread messages in your inbox.")
    notification_preferences = graphene.List(
        graphene.NonNull(NotificationPreferenceType), required=True,
        description="Every event you can be told about, per channel, with your choice or the default.",
    )
    webhook_subscriptions = DjangoConnectionField(
        WebhookSubscriptionType, description="Webhook subscriptions you manage: your store's, or all (MANAGE_PLUGINS)."
    )
    webhook_deliveries = DjangoConnectionField(
        WebhookDeliveryType, subscription=graphene.ID(), description="The delivery log, newest first."
    )

    @staticmethod
    def resolve_notifications(_root, info, unread_only=False, **_kwargs):
        queryset = services.inbox_of(info.context.user)
        return queryset.filter(read_at__isnull=True) if unread_only else queryset

    @staticmethod
    def resolve_notification_unread_count(_root, info):
        return services.unread_count(info.context.user)

    @staticmethod
    def resolve_notification_preferences(_root, info):
        return services.preferences_of(info.context.user)

    @staticmethod
    def resolve_webhook_subscriptions(_root, info, **_kwargs):
        return WebhookSubscription.objects.select_related("vendor").order_by("pk")

    @staticmethod
    def resolve_webhook_deliveries(_root, info, subscription=None, **_kwargs):
        queryset = Delivery.objects.order_by("-created_at", "-pk")
        if subscription:
            queryset = queryset.filter(subscription_id=filter_key(subscription, "WebhookSubscription"))
        return queryset


class NotificationMutations(graphene.ObjectType):
    notification_mark_read = NotificationMarkRead.Field()
    notification_mark_all_read = NotificationMarkAllRead.Field()
    notification_preference_update = NotificationPreferenceUpdate.Field()
    webhook_subscription_create = WebhookSubscriptionCreate.Field()
    webhook_subscription_update = WebhookSubscriptionUpdate.Field()
    webhook_subscription_delete = WebhookSubscriptionDelete.Field()
    webhook_subscription_test_send = WebhookSubscriptionTestSend.Field()
