"""What a store's priced events of a variant (flash sales, group deals) share: who sees and changes
them, their name, price and window, and their creation and update under the variant's row lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from backend.catalog.models import ProductVariant
from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import parse_amount
from backend.vendors.selectors import vendor_id_of

from .error_codes import PromotionErrorCode as E
from .selectors import manages_platform_vouchers, manages_store_vouchers


def overlapping(model, variant_id: int, starts_at, ends_at):
    """The active events of a kind on a variant whose window overlaps [starts_at, ends_at)."""
    return model.objects.filter(variant_id=variant_id, is_active=True, starts_at__lt=ends_at, ends_at__gt=starts_at)


def refuse_overlap(event, message: str) -> None:
    """An active event may not overlap another active event of the same kind on the same variant
    (callers hold the variant's row lock, so two overlapping ones cannot both pass)."""
    if not event.is_active:
        return
    clash = overlapping(type(event), event.variant_id, event.starts_at, event.ends_at).exclude(pk=event.pk)
    if clash.exists():
        raise DomainError(E.INVALID, message, field="startsAt")


def visible_events(model, user, queryset=None):
    """Core API: a store's staff see its events; finance staff see all; nobody else any."""
    queryset = model.objects.all() if queryset is None else queryset
    if manages_platform_vouchers(user):
        return queryset
    vendor_id = vendor_id_of(user)
    return queryset.filter(vendor_id=vendor_id) if vendor_id is not None else queryset.none()


def refuse_unless_store_manager(actor, vendor_id: int, message: str) -> None:
    """An event is the store's own price: its owner or operators set it (platform staff see it)."""
    if vendor_id_of(actor) != vendor_id or not manages_store_vouchers(actor):
        raise DomainError(E.PERMISSION_DENIED, message)


def apply_name_price_fields(event, data, variant: ProductVariant, names: Iterable[str], *, name_message: str,
                            price_message: str) -> None:
    """Copy the given name, price and plain fields onto the event; the price stays above zero and
    below the variant's regular price."""
    if data.name is not None:
        name = data.name.strip()
        if len(name) > 128:
            raise DomainError(E.INVALID, name_message, field="name")
        event.name = name
    if data.price is not None:
        try:
            event.price_amount = parse_amount(data.price, event.currency)
        except ValueError as exc:
            raise DomainError(E.INVALID, _("Give an amount in the currency's unit."), field="price") from exc
    for name in names:
        value = getattr(data, name)
        if value is not None:
            setattr(event, name, value)
    if event.price_amount is None or not (0 < Decimal(event.price_amount) < Decimal(variant.price_amount)):
        raise DomainError(E.INVALID, price_message, field="price")


def check_limit_and_window(event, *, required_message: str, order_message: str) -> None:
    if event.per_shopper_limit is not None and event.per_shopper_limit < 1:
        raise DomainError(E.INVALID, _("A limit is at least 1."), field="perShopperLimit")
    if event.starts_at is None or event.ends_at is None:
        raise DomainError(E.REQUIRED, required_message, field="startsAt")
    if event.ends_at <= event.starts_at:
        raise DomainError(E.INVALID, order_message, field="endsAt")


def create_event(*, actor, variant_id: int, build: Callable, apply: Callable, may_change: Callable,
                 overlap_message: str, action: str):
    """Create a store's event for one of its variants. The variant's row lock orders concurrent
    creations, so two overlapping events cannot both pass."""
    with transaction.atomic():
        variant = ProductVariant.objects.select_for_update().filter(pk=variant_id).first()
        if variant is None or vendor_id_of(actor) != variant.vendor_id:
            raise DomainError(E.NOT_FOUND, _("No such variant."), field="variant")
        may_change(actor, variant.vendor_id)
        event = build(variant)
        apply(event, variant)
        refuse_overlap(event, overlap_message)
        event.save()
        audit_log(actor=actor, action=action, target=event, vendor=event.vendor_id, variant=variant.pk)
    return event


def update_event(*, actor, model, event_id: int, apply: Callable, may_change: Callable, not_found_message: str,
                 overlap_message: str, action: str):
    with transaction.atomic():
        event = visible_events(model, actor).filter(pk=event_id).first()
        if event is None:
            raise DomainError(E.NOT_FOUND, not_found_message, field="id")
        may_change(actor, event.vendor_id)
        variant = ProductVariant.objects.select_for_update().get(pk=event.variant_id)
        event = model.objects.select_for_update().get(pk=event.pk)
        apply(event, variant)
        refuse_overlap(event, overlap_message)
        event.save()
        audit_log(actor=actor, action=action, target=event, vendor=event.vendor_id)
    return event
