"""Weight and price arithmetic of table-rate services, in Decimal only.

Interpretation of a tariff row (ZoneRate): the first-weight price covers the
service's first weight (1 kg in the demo data); every further kilogram of
chargeable weight costs the additional-weight price, pro rata per weight step
(so with a 0.5 kg step, half a kilogram costs half the per-kg price). Above the
heavy threshold (20 kg) the heavy additional-weight price applies to the
kilograms beyond the threshold, or the parcel is not served.

Chargeable weight: the larger of actual and volumetric weight
(L x W x H in cm / divisor), rounded up to the next weight step.
Prices are exact Decimals here; rounding to the fen happens once, in quantize().
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from plugins.logistics.interface import Parcel

ZERO = Decimal(0)


def round_up_weight(weight: Decimal, step: Decimal) -> Decimal:
    """The next multiple of step at or above weight (0.5 or 1 kg steps)."""
    if step <= 0:
        raise ValueError("weight step must be positive")
    steps = (Decimal(weight) / step).to_integral_value(rounding=ROUND_CEILING)
    return (steps * step).quantize(Decimal("0.001"))


def volumetric_weight(parcel: Parcel, divisor: int | None) -> Decimal:
    if not divisor:
        return ZERO
    return Decimal(parcel.length) * Decimal(parcel.width) * Decimal(parcel.height) / Decimal(divisor)


def chargeable_weight(parcel: Parcel, *, step: Decimal, volumetric_divisor: int | None) -> Decimal:
    return round_up_weight(max(Decimal(parcel.weight), volumetric_weight(parcel, volumetric_divisor)), step)


def table_price(
    weight: Decimal,
    *,
    first_weight: Decimal,
    first_weight_price: Decimal,
    additional_weight_price: Decimal,
    heavy_threshold: Decimal | None = None,
    heavy_additional_weight_price: Decimal | None = None,
    heavy_served: bool = True,
) -> Decimal | None:
    """Freight for one parcel of chargeable `weight`, or None when it is not served."""
    heavy_kg = ZERO
    if heavy_threshold is not None and weight > heavy_threshold:
        if not heavy_served or heavy_additional_weight_price is None:
            return None
        heavy_kg = weight - heavy_threshold
    normal_kg = max(ZERO, weight - heavy_kg - first_weight)
    price = first_weight_price + normal_kg * additional_weight_price
    if heavy_kg:
        price += heavy_kg * heavy_additional_weight_price
    return price


def apply_percent(amount: Decimal, percent: Decimal) -> Decimal:
    """amount changed by percent (+20 raises by a fifth, -10 takes a tenth off); unrounded."""
    return amount * (Decimal(100) + Decimal(percent)) / Decimal(100)
