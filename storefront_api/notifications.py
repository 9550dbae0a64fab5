"""The shopper's inbox and notification preferences, favourites (收藏) and restock alerts (到货通知)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay
from strawberry.types import Info

from backend.catalog.models import ProductVariant as VariantModel
from backend.catalog.selectors import storefront_products, storefront_vendors
from backend.core.exceptions import DomainError
from backend.notifications import models, selectors, services
from backend.notifications.error_codes import NotificationErrorCode

from .catalog import CountedConnection, Product, ProductVariant, Vendor
from .core import current_user, error_type, run_mutation
from .ids import NO_KEY, key_of, key_or_not_found

NotificationError = error_type("NotificationError", NotificationErrorCode)


@strawberry.enum(name="NotificationChannel")
class NotificationChannel(Enum):
    EMAIL = "email"
    INBOX = "inbox"


@strawberry_django.type(models.Notification, name="Notification")
class Notification(relay.Node):
    id: relay.NodeID[int]
    title: strawberry.auto
    body: strawberry.auto
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        user = current_user(info)
        return queryset.filter(user_id=user.pk) if user.is_authenticated else queryset.none()

    @strawberry_django.field(select_related=["event"], only=["event__name"], description="The event's name, e.g. order.shipped.")
    def event(self) -> str:
        return self.event.name

    @strawberry_django.field(only=["read_at"])
    def is_read(self) -> bool:
        return self.read_at is not None


@strawberry.type(name="NotificationPreference")
class NotificationPreference:
    event: str
    channel: NotificationChannel
    enabled: bool
    description: str
    money_deadline: bool = strawberry.field(
        description="A reminder of a deadline that moves money: switching it off needs confirmMoneyDeadline."
    )

    @classmethod
    def of(cls, values: dict) -> NotificationPreference:
        return cls(event=values["event"], channel=NotificationChannel(values["channel"]), enabled=values["enabled"],
                   description=values["description"], money_deadline=values["money_deadline"])


@strawberry_django.type(models.Favourite, name="Favourite")
class Favourite(relay.Node):
    id: relay.NodeID[int]
    created_at: datetime
    product: Product | None = strawberry_django.field(description="The saved product (null for a saved store).")
    vendor: Vendor | None = strawberry_django.field(description="The saved store (null for a saved product).")

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        user = current_user(info)
        return queryset.filter(user_id=user.pk) if user.is_authenticated else queryset.none()


@strawberry_django.type(models.RestockAlert, name="RestockAlert")
class RestockAlert(relay.Node):
    id: relay.NodeID[int]
    variant: ProductVariant
    created_at: datetime
    fired_at: datetime | None = strawberry_django.field(description="When the variant came back and you were told.")


@strawberry.enum(name="FavouriteKind")
class FavouriteKind(Enum):
    PRODUCT = "product"
    VENDOR = "vendor"


@strawberry.input
class NotificationPreferenceInput:
    event: str
    channel: NotificationChannel
    enabled: bool
    confirm_money_deadline: bool = strawberry.field(
        default=False, description="Needed to switch off the reminder of a deadline after which money moves."
    )


@strawberry.type
class NotificationMarkReadPayload:
    notifications: list[Notification] = strawberry.field(default_factory=list)
    errors: list[NotificationError]


@strawberry.type
class NotificationMarkAllReadPayload:
    count: int = 0
    errors: list[NotificationError]


@strawberry.type
class NotificationPreferencePayload:
    preference: NotificationPreference | None = None
    errors: list[NotificationError]


@strawberry.type
class FavouritePayload:
    favourite: Favourite | None = None
    errors: list[NotificationError]


@strawberry.type
class FavouriteRemovePayload:
    removed: bool = False
    errors: list[NotificationError]


@strawberry.type
class RestockAlertPayload:
    restock_alert: RestockAlert | None = None
    errors: list[NotificationError]


@strawberry.type
class RestockAlertUnsubscribePayload:
    removed: bool = False
    errors: list[NotificationError]


def _favourite_target(product: relay.GlobalID | None, vendor: relay.GlobalID | None) -> dict:
    if (product is None) == (vendor is None):
        raise DomainError(NotificationErrorCode.REQUIRED, "Give a product or a store.", field="product")
    if product is not None:
        found = storefront_products().filter(pk=key_or_not_found(product, "Product", field="product")).first()
        if found is None:
            raise DomainError(NotificationErrorCode.NOT_FOUND, "No such product.", field="product")
        return {"product": found}
    found = storefront_vendors().filter(pk=key_or_not_found(vendor, "Vendor", field="vendor")).first()
    if found is None:
        raise DomainError(NotificationErrorCode.NOT_FOUND, "No such store.", field="vendor")
    return {"vendor": found}


def _variant(variant: relay.GlobalID) -> VariantModel:
    found = (
        VariantModel.objects.filter(product__in=storefront_products())
        .filter(pk=key_or_not_found(variant, "ProductVariant", field="variant"))
        .first()
    )
    if found is None:
        raise DomainError(NotificationErrorCode.NOT_FOUND, "No such variant.", field="variant")
    return found


@strawberry.type
class NotificationQuery:
    @strawberry_django.connection(CountedConnection[Notification], description="Your inbox, newest first.")
    def notifications(self, info: Info, unread_only: bool = False) -> QuerySet[models.Notification]:
        queryset = services.inbox_of(current_user(info))
        return queryset.filter(read_at__isnull=True) if unread_only else queryset

    @strawberry.field(description="Unread messages in your inbox (0 when signed out).")
    def notification_unread_count(self, info: Info) -> int:
        return services.unread_count(current_user(info))

    @strawberry.field(description="Every event you can be told about, per channel, with your choice or the default.")
    def notification_preferences(self, info: Info) -> list[NotificationPreference]:
        user = current_user(info)
        if not user.is_authenticated:
            return []
        return [NotificationPreference.of(p) for p in services.preferences_of(user)]

    @strawberry_django.connection(CountedConnection[Favourite], description="Your saved products and stores, newest first.")
    def favourites(self, info: Info, kind: FavouriteKind | None = None) -> QuerySet[models.Favourite]:
        return selectors.favourites_of(current_user(info), kind=kind.value if kind else None)

    @strawberry_django.field(description="Your restock alerts, waiting and fired, newest first.")
    def restock_alerts(self, info: Info) -> list[RestockAlert]:
        return selectors.restock_alerts_of(current_user(info))


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mark messages of your inbox read.")
    def notification_mark_read(self, info: Info, ids: list[relay.GlobalID]) -> NotificationMarkReadPayload:
        def action():
            keys = [key_of(i, "Notification") or NO_KEY for i in ids]
            return {"notifications": services.notification_mark_read(actor=current_user(info), notification_ids=keys)}

        return run_mutation(NotificationMarkReadPayload, NotificationError, action)

    @strawberry.mutation(description="Mark every message of your inbox read.")
    def notification_mark_all_read(self, info: Info) -> NotificationMarkAllReadPayload:
        return run_mutation(
            NotificationMarkAllReadPayload, NotificationError,
            lambda: {"count": services.notification_mark_all_read(actor=current_user(info))},
        )

    @strawberry.mutation(description="Switch one event's email or inbox messages on or off.")
    def notification_preference_update(self, info: Info, input: NotificationPreferenceInput) -> NotificationPreferencePayload:
        def action():
            values = services.notification_preference_update(
                actor=current_user(info), event=input.event, channel=input.channel.value, enabled=input.enabled,
                confirm_money_deadline=input.confirm_money_deadline,
            )
            return {"preference": NotificationPreference.of(values)}

        return run_mutation(NotificationPreferencePayload, NotificationError, action)

    @strawberry.mutation(description="Save a product or a store (收藏); saving it again changes nothing.")
    def favourite_add(
        self, info: Info, product: relay.GlobalID | None = None, vendor: relay.GlobalID | None = None
    ) -> FavouritePayload:
        def action():
            return {"favourite": services.favourite_add(actor=current_user(info), **_favourite_target(product, vendor))}

        return run_mutation(FavouritePayload, NotificationError, action)

    @strawberry.mutation(description="Forget a saved product or store.")
    def favourite_remove(
        self, info: Info, product: relay.GlobalID | None = None, vendor: relay.GlobalID | None = None
    ) -> FavouriteRemovePayload:
        def action():
            return {"removed": services.favourite_remove(actor=current_user(info), **_favourite_target(product, vendor))}

        return run_mutation(FavouriteRemovePayload, NotificationError, action)

    @strawberry.mutation(description="Be told once when an out-of-stock variant is back in stock (到货通知).")
    def restock_alert_subscribe(self, info: Info, variant: relay.GlobalID) -> RestockAlertPayload:
        def action():
            return {"restock_alert": services.restock_alert_subscribe(actor=current_user(info), variant=_variant(variant))}

        return run_mutation(RestockAlertPayload, NotificationError, action)

    @strawberry.mutation(description="Stop waiting for a variant.")
    def restock_alert_unsubscribe(self, info: Info, variant: relay.GlobalID) -> RestockAlertUnsubscribePayload:
        def action():
            return {"removed": services.restock_alert_unsubscribe(actor=current_user(info), variant=_variant(variant))}

        return run_mutation(RestockAlertUnsubscribePayload, NotificationError, action)


__all__ = ["NotificationMutation", "NotificationQuery"]
