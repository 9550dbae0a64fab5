"""Load region, zone and demo tariff data from backend/logistics/data/ into the tables.

Used by the data migration (with historical models) and by `manage.py
load_logistics_data`. Loading again updates rows in place; staff edits to rows not in
the files are kept.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.utils.dateparse import parse_datetime

DATA_DIR = Path(__file__).resolve().parent / "data"


def _read(name: str) -> dict:
    with open(DATA_DIR / name, encoding="utf-8") as handle:
        return json.load(handle)


def _models(apps=None):
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    return lambda name: apps.get_model("logistics", name)


def load_regions(apps=None) -> int:
    model = _models(apps)
    Region = model("Region")
    data = _read("regions.json")
    for item in data["provinces"]:
        Region.objects.update_or_create(
            code=item["code"],
            defaults={"name": item["name"], "local_name": item["local_name"], "kind": item["kind"],
                      "parent": None, "is_remote": bool(item.get("remote"))},
        )
    for item in data["cities"]:
        Region.objects.update_or_create(
            code=item["code"],
            defaults={"name": item["name"], "local_name": item["local_name"], "kind": "city",
                      "parent": Region.objects.get(code=item["parent"]), "is_remote": bool(item.get("remote"))},
        )
    return len(data["provinces"]) + len(data["cities"])


def load_zones(apps=None) -> int:
    model = _models(apps)
    Region, ZoneAssignment = model("Region"), model("ZoneAssignment")
    regions = {r.code: r for r in Region.objects.filter(parent__isnull=True)}
    count = 0
    for origin_code, zones in _read("zones.json")["origins"].items():
        for zone, destinations in zones.items():
            for code in destinations:
                ZoneAssignment.objects.update_or_create(
                    origin=regions[origin_code], destination=regions[code], defaults={"zone": zone}
                )
                count += 1
    return count


def load_demo_tariffs(apps=None) -> int:
    model = _models(apps)
    ShippingService, ZoneRate = model("ShippingService"), model("ZoneRate")
    PricingEvent, CarrierQuota, Region = model("PricingEvent"), model("CarrierQuota"), model("Region")
    data = _read("demo_tariffs.json")
    carrier = data["carrier"]
    decimal_fields = ("weight_step", "first_weight", "heavy_threshold", "max_weight", "remote_area_surcharge", "flat_price")
    for item in data["services"]:
        defaults = {
            key: (Decimal(value) if key in decimal_fields and value is not None else value)
            for key, value in item.items()
            if key not in ("code", "rates")
        }
        service, _ = ShippingService.objects.update_or_create(carrier_id=carrier, code=item["code"], defaults=defaults)
        for zone, rate in item["rates"].items():
            ZoneRate.objects.update_or_create(
                service=service,
                zone=zone,
                defaults={
                    "first_weight_price": Decimal(rate["first"]),
                    "additional_weight_price": Decimal(rate["additional"]),
                    "heavy_additional_weight_price": Decimal(rate["heavy"]) if rate.get("heavy") else None,
                    "promised_days": rate["days"],
                },
            )
    for item in data["events"]:
        PricingEvent.objects.update_or_create(
            carrier_id=carrier,
            name=item["name"],
            defaults={
                "service_code": item["service_code"],
                "starts_at": parse_datetime(item["starts_at"]),
                "ends_at": parse_datetime(item["ends_at"]),
                "percent_change": Decimal(item["percent_change"]),
                "extra_days": item["extra_days"],
            },
        )
    for item in data["quotas"]:
        CarrierQuota.objects.update_or_create(
            carrier_id=carrier,
            origin=Region.objects.get(code=item["origin"]),
            defaults={"daily_limit": item["daily_limit"], "when_exhausted": item["when_exhausted"]},
        )
    return len(data["services"])


def load_all(apps=None) -> dict[str, int]:
    return {"regions": load_regions(apps), "zone_assignments": load_zones(apps), "services": load_demo_tariffs(apps)}
