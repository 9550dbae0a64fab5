"""The carrier data version: a counter moved by every change of what shipping quotes depend on.

Single saves and deletes of the logistics pricing models (and of plugin settings) move it through
signals (connected in apps.py); code that writes them in bulk (queryset.update, bulk_create, the
loaders, campaigns' event sync) calls `carrier_data_changed()` itself. A checkout's stored quote
records the version read *before* quoting, so a change committed while quoting still makes the
quote stale.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from .models import CarrierDataVersion

_ROW = 1


def carrier_data_version() -> int:
    """The current version (0 before any change was recorded); one query."""
    return CarrierDataVersion.objects.filter(pk=_ROW).values_list("version", flat=True).first() or 0


def carrier_data_changed(**_signal_kwargs) -> None:
    """Move the version on (inside the caller's transaction: readers see it once the change commits)."""
    with transaction.atomic():
        if not CarrierDataVersion.objects.filter(pk=_ROW).update(version=F("version") + 1):
            CarrierDataVersion.objects.bulk_create([CarrierDataVersion(pk=_ROW, version=0)], ignore_conflicts=True)
            CarrierDataVersion.objects.filter(pk=_ROW).update(version=F("version") + 1)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from plugins.models import PluginConfiguration

    from .models import CarrierQuota, NegotiatedRate, PricingEvent, Region, ShippingService, ZoneAssignment, ZoneRate

    for model in (Region, ZoneAssignment, ShippingService, ZoneRate, PricingEvent, NegotiatedRate, CarrierQuota, PluginConfiguration):
        for signal in (post_save, post_delete):
            signal.connect(carrier_data_changed, sender=model, dispatch_uid=f"carrier-data-{model._meta.label}-{signal}")
