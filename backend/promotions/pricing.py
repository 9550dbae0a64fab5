"""The pricing path of a checkout: per store package the goods, the adjustments, the shipping.

Everything that lowers what a shopper pays is an Adjustment with its funder (the platform or
the store), its target (goods or shipping), its source (a voucher, a flash sale, the member's tier
or points) and, for goods, the line it is allocated to.
Checkout summaries, payment sessions and order placement all read this one result, so the
amount paid is the amount shown.

Pure arithmetic over plain inputs (no database), in integer minor units: vouchers are applied
in a fixed order (store vouchers per package first, then platform vouchers on what is left, as
Tmall does), every split uses the largest remainder so the parts add up to the cent, and no
package is discounted below one minor unit (the shopper always pays something into escrow).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from backend.core.money import Money, from_minor, minor_exponent, quantize, to_minor

PLATFORM, STORE = "platform", "store"
GOODS, SHIPPING = "goods", "shipping"
AMOUNT_OFF, PERCENTAGE, FREE_SHIPPING = "amount_off", "percentage", "free_shipping"

# Why a voucher applied to a checkout gives nothing (stable codes, also shown by the storefront).
OUT_OF_SCOPE = "out_of_scope"
MIN_SPEND_NOT_REACHED = "min_spend_not_reached"
NOT_STACKABLE = "not_stackable"
NOTHING_TO_DISCOUNT = "nothing_to_discount"


@dataclass(frozen=True)
class LineInput:
    key: int  # the checkout line (or any id the caller maps back)
    vendor_id: int
    product_id: int
    category_id: int | None
    amount: Decimal  # the line's goods: unit price x quantity


@dataclass(frozen=True)
class PackageInput:
    vendor_id: int
    lines: tuple[LineInput, ...]
    shipping: Decimal


@dataclass(frozen=True)
class VoucherTerms:
    id: int
    label: str
    kind: str
    vendor_id: int | None  # None: a platform voucher
    platform_share_percent: Decimal
    value: Decimal = Decimal(0)
    max_discount: Decimal | None = None
    min_spend: Decimal = Decimal(0)
    product_ids: frozenset = frozenset()
    category_ids: frozenset = frozenset()  # already expanded with descendants
    vendor_ids: frozenset = frozenset()  # a platform voucher limited to some stores

    @property
    def is_platform(self) -> bool:
        return self.vendor_id is None

    def covers(self, line: LineInput) -> bool:
        if self.vendor_id is not None and line.vendor_id != self.vendor_id:
            return False
        if self.vendor_ids and line.vendor_id not in self.vendor_ids:
            return False
        if self.product_ids or self.category_ids:
            return line.product_id in self.product_ids or line.category_id in self.category_ids
        return True


@dataclass(frozen=True)
class LineAdjustment:
    """A price a line gets before any voucher (a flash sale's event price; later campaign and group
    prices): worked out by its source, applied first, so thresholds count the price paid."""

    source: str
    source_id: int
    label: str
    funder: str
    line_key: int
    amount: Decimal


@dataclass(frozen=True)
class Stacking:
    """Tmall's rule by default: one platform voucher per checkout, one store voucher per package."""

    platform_per_checkout: int = 1
    store_per_package: int = 1


@dataclass(frozen=True)
class MemberTerms:
    """What a member's tier and points give (backend.members): applied after the vouchers, on what
    they left, all funded by the platform: the tier's percentage off the goods, its free shipping
    for packages whose goods reach its threshold, then the points (at most `points_max_percent` of
    the goods, at `points_per_unit` points per unit of the currency)."""

    tier_id: int | None = None
    tier_label: str = ""
    discount_percent: Decimal = Decimal(0)
    free_shipping_threshold: Decimal | None = None
    points_balance: int = 0
    points_requested: int | None = 0  # None: as many as allowed
    points_per_unit: int = 100
    points_max_percent: Decimal = Decimal(50)
    points_label: str = "Points"


TIER, POINTS = "tier", "points"


@dataclass(frozen=True)
class Adjustment:
    source: str
    source_id: int | None
    label: str
    funder: str
    target: str
    vendor_id: int
    line_key: int | None
    amount: Money


@dataclass
class PackagePricing:
    vendor_id: int
    currency: str
    goods: Money
    shipping: Money
    adjustments: list[Adjustment] = field(default_factory=list)

    def _sum(self, **match) -> Money:
        return sum(
            (a.amount for a in self.adjustments if all(getattr(a, k) == v for k, v in match.items())),
            Money(quantize(Decimal(0), self.currency), self.currency),
        )

    @property
    def goods_discount(self) -> Money:
        return self._sum(target=GOODS)

    @property
    def shipping_discount(self) -> Money:
        return self._sum(target=SHIPPING)

    @property
    def discount(self) -> Money:
        return self.goods_discount + self.shipping_discount

    @property
    def platform_funded(self) -> Money:
        return self._sum(funder=PLATFORM)

    @property
    def store_funded(self) -> Money:
        return self._sum(funder=STORE)

    @property
    def total(self) -> Money:
        return self.goods + self.shipping - self.discount

    def line_discount(self, line_key: int, funder: str) -> Money:
        return self._sum(line_key=line_key, funder=funder, target=GOODS)

    def summarized(self) -> list[Adjustment]:
        """The adjustments per source, funder and target (lines added up): what a package shows."""
        grouped: dict[tuple, Adjustment] = {}
        for a in self.adjustments:
            key = (a.source, a.source_id, a.funder, a.target)
            if key in grouped:
                prior = grouped[key]
                grouped[key] = Adjustment(
                    a.source, a.source_id, a.label, a.funder, a.target, a.vendor_id, None, prior.amount + a.amount
                )
            else:
                grouped[key] = Adjustment(a.source, a.source_id, a.label, a.funder, a.target, a.vendor_id, None, a.amount)
        return list(grouped.values())


@dataclass
class Pricing:
    currency: str
    packages: dict[int, PackagePricing]
    applied: list[int] = field(default_factory=list)  # voucher ids that gave something
    skipped: dict[int, str] = field(default_factory=dict)  # voucher id -> reason
    vouchers: dict = field(default_factory=dict)  # voucher id -> the voucher (set by services)
    # Flash sales priced in: line key -> (flash sale id, units at the event price), and the sales by id.
    flash_units: dict = field(default_factory=dict)
    flash_sales: dict = field(default_factory=dict)
    # Member points used by the points adjustments (0: none) and the most that could be used.
    points_used: int = 0
    points_allowed: int = 0
    # What the shopper asked for (0: nothing, None: as many as allowed) and the balance priced with.
    points_requested: int | None = 0
    points_balance: int = 0
    # The checkout's group buy as priced (group_buying.GroupPricing), if it is marked for one.
    group_buy: object = None
    # Campaign prices priced in (backend/campaigns/pricing.py): line key -> (enrolment id, units), enrolments by id.
    campaign_units: dict = field(default_factory=dict)
    campaign_enrolments: dict = field(default_factory=dict)

    @property
    def adjustments(self) -> list[Adjustment]:
        return [a for p in self.packages.values() for a in p.adjustments]

    def voucher_amount(self, voucher_id: int) -> Money:
        return sum(
            (a.amount for a in self.adjustments if a.source == "voucher" and a.source_id == voucher_id),
            Money(quantize(Decimal(0), self.currency), self.currency),
        )

    @property
    def total(self) -> Money:
        return sum((p.total for p in self.packages.values()), Money(quantize(Decimal(0), self.currency), self.currency))

    def fingerprint_data(self) -> list:
        return sorted(
            (a.source, a.source_id or 0, a.funder, a.target, a.vendor_id, a.line_key or 0, str(a.amount.amount))
            for a in self.adjustments
        )


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights` so the parts add up exactly; the units
    left after flooring go to the largest remainders (the earlier one on a tie)."""
    if total < 0:
        raise ValueError("only a non-negative amount is split")
    weight_sum = sum(weights)
    if not weights:
        return []
    if weight_sum <= 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        floors[index] += 1
    return floors


def _half_up(numerator: int, denominator: int) -> int:
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class _State:
    """Net amounts per line and package while vouchers are applied, in minor units."""

    def __init__(self, currency: str, packages: list[PackageInput]):
        self.currency = currency
        self.packages = {p.vendor_id: p for p in packages}
        self.line_net = {line.key: to_minor(line.amount, currency) for p in packages for line in p.lines}
        self.shipping_net = {p.vendor_id: to_minor(p.shipping, currency) for p in packages}
        self.adjustments: list[Adjustment] = []

    def package_net(self, vendor_id: int) -> int:
        return sum(self.line_net[line.key] for line in self.packages[vendor_id].lines) + self.shipping_net[vendor_id]

    def money(self, minor: int) -> Money:
        return Money(from_minor(minor, self.currency), self.currency)

    def add(self, voucher: VoucherTerms, funder: str, target: str, vendor_id: int, line_key, minor: int) -> None:
        self.add_from("voucher", voucher.id, voucher.label, funder, target, vendor_id, line_key, minor)

    def add_from(self, source: str, source_id, label: str, funder: str, target: str, vendor_id: int, line_key,
                 minor: int) -> None:
        if minor <= 0:
            return
        if target == GOODS:
            self.line_net[line_key] -= minor
        else:
            self.shipping_net[vendor_id] -= minor
        self.adjustments.append(
            Adjustment(source, source_id, label, funder, target, vendor_id, line_key, self.money(minor))
        )


def _eligible(state: _State, voucher: VoucherTerms, vendor_ids) -> dict[int, list[LineInput]]:
    """The lines in the voucher's scope, per package (for goods discounts: those with something left)."""
    found: dict[int, list[LineInput]] = {}
    goods = voucher.kind != FREE_SHIPPING
    for vendor_id in vendor_ids:
        lines = [
            line for line in state.packages[vendor_id].lines
            if voucher.covers(line) and (state.line_net[line.key] > 0 or not goods)
        ]
        if lines:
            found[vendor_id] = lines
    return found


def _discount(state: _State, voucher: VoucherTerms, eligible_minor: int) -> int:
    if voucher.kind == AMOUNT_OFF:
        return min(to_minor(quantize(voucher.value, state.currency), state.currency), eligible_minor)
    if voucher.kind == PERCENTAGE:
        percent = Decimal(voucher.value)
        amount = int((Decimal(eligible_minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if voucher.max_discount is not None:
            amount = min(amount, to_minor(quantize(voucher.max_discount, state.currency), state.currency))
        return min(amount, eligible_minor)
    return 0


def _apply_package_part(state: _State, voucher: VoucherTerms, vendor_id: int, lines: list[LineInput], minor: int) -> None:
    """One package's part of a goods discount: split between funders, each spread over the lines."""
    room = state.package_net(vendor_id) - 1
    minor = max(0, min(minor, room))
    if minor == 0:
        return
    platform = _half_up(minor * int(voucher.platform_share_percent * 100), 10000)
    for funder, part in ((STORE, minor - platform), (PLATFORM, platform)):
        if part <= 0:
            continue
        weights = [state.line_net[line.key] for line in lines]
        for line, share in zip(lines, largest_remainder(part, weights)):
            state.add(voucher, funder, GOODS, vendor_id, line.key, share)


def _apply_shipping(state: _State, voucher: VoucherTerms, vendor_id: int) -> None:
    minor = min(state.shipping_net[vendor_id], state.package_net(vendor_id) - 1)
    if minor <= 0:
        return
    platform = _half_up(minor * int(voucher.platform_share_percent * 100), 10000)
    state.add(voucher, STORE, SHIPPING, vendor_id, None, minor - platform)
    state.add(voucher, PLATFORM, SHIPPING, vendor_id, None, platform)


def _apply(state: _State, voucher: VoucherTerms, vendor_ids) -> str | None:
    """Apply one voucher over the packages of `vendor_ids`; returns why it gave nothing, if it did."""
    eligible = _eligible(state, voucher, vendor_ids)
    if not eligible:
        return OUT_OF_SCOPE
    eligible_minor = sum(state.line_net[line.key] for lines in eligible.values() for line in lines)
    if eligible_minor < to_minor(quantize(voucher.min_spend, state.currency), state.currency):
        return MIN_SPEND_NOT_REACHED
    before = len(state.adjustments)
    if voucher.kind == FREE_SHIPPING:
        for vendor_id in eligible:
            _apply_shipping(state, voucher, vendor_id)
    else:
        total = _discount(state, voucher, eligible_minor)
        vendors = list(eligible)
        weights = [sum(state.line_net[line.key] for line in eligible[v]) for v in vendors]
        for vendor_id, part in zip(vendors, largest_remainder(total, weights)):
            _apply_package_part(state, voucher, vendor_id, eligible[vendor_id], part)
    return None if len(state.adjustments) > before else NOTHING_TO_DISCOUNT


def _apply_platform_goods(state: _State, source: str, source_id, label: str, minor: int) -> int:
    """A platform-funded goods discount over every line with something left (as a platform voucher:
    split over the packages, then over their lines, by what is left); returns what was applied."""
    vendors = [v for v in state.packages if any(state.line_net[line.key] > 0 for line in state.packages[v].lines)]
    weights = [sum(state.line_net[line.key] for line in state.packages[v].lines) for v in vendors]
    applied = 0
    for vendor_id, part in zip(vendors, largest_remainder(max(0, minor), weights)):
        part = max(0, min(part, state.package_net(vendor_id) - 1))
        lines = [line for line in state.packages[vendor_id].lines if state.line_net[line.key] > 0]
        for line, share in zip(lines, largest_remainder(part, [state.line_net[line.key] for line in lines])):
            state.add_from(source, source_id, label, PLATFORM, GOODS, vendor_id, line.key, share)
            applied += max(0, share)
    return applied


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def points_value_minor(points: int, currency: str, points_per_unit: int) -> int:
    """What `points` are worth in minor units (rounded down: never more than the points)."""
    return points * 10 ** minor_exponent(currency) // points_per_unit


def points_for_minor(minor: int, currency: str, points_per_unit: int) -> int:
    """The points a discount of `minor` units takes (rounded up: never less than its worth)."""
    return _ceil_div(minor * points_per_unit, 10 ** minor_exponent(currency))


def _apply_member(state: _State, member: MemberTerms) -> tuple[int, int]:
    """The tier's benefits, then the points; returns (points used, points allowed)."""
    currency = state.currency
    if member.tier_id is not None and member.discount_percent > 0:
        left = sum(state.line_net.values())
        minor = int((Decimal(left) * Decimal(member.discount_percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        _apply_platform_goods(state, TIER, member.tier_id, member.tier_label, minor)
    if member.tier_id is not None and member.free_shipping_threshold is not None:
        threshold = to_minor(quantize(member.free_shipping_threshold, currency), currency)
        for vendor_id, package in state.packages.items():
            goods = sum(state.line_net[line.key] for line in package.lines)
            if goods >= threshold:
                minor = min(state.shipping_net[vendor_id], state.package_net(vendor_id) - 1)
                state.add_from(TIER, member.tier_id, member.tier_label, PLATFORM, SHIPPING, vendor_id, None, minor)
    if member.points_balance <= 0 or member.points_per_unit <= 0:
        return 0, 0
    goods = sum(to_minor(line.amount, currency) for p in state.packages.values() for line in p.lines)
    cap = int(Decimal(goods) * Decimal(member.points_max_percent) / 100)
    room = sum(max(0, state.package_net(v) - 1) for v in state.packages)
    room = min(room, sum(max(0, n) for n in state.line_net.values()))
    most = min(cap, room, points_value_minor(member.points_balance, currency, member.points_per_unit))
    allowed = points_for_minor(most, currency, member.points_per_unit) if most > 0 else 0
    wanted = most if member.points_requested is None else min(
        most, points_value_minor(member.points_requested, currency, member.points_per_unit)
    )
    if wanted <= 0:
        return 0, allowed
    applied = _apply_platform_goods(state, POINTS, None, member.points_label, wanted)
    return points_for_minor(applied, currency, member.points_per_unit), allowed


def price_packages(
    *, currency: str, packages: list[PackageInput], vouchers: list[VoucherTerms], stacking: Stacking = Stacking(),
    line_adjustments: list[LineAdjustment] = (), member: MemberTerms | None = None,
) -> Pricing:
    """Price the packages: the line adjustments first (event prices), then the vouchers (in the
    order given within each kind), then the member's tier and points (platform-funded)."""
    state = _State(currency, packages)
    vendor_of_line = {line.key: p.vendor_id for p in packages for line in p.lines}
    for item in line_adjustments:
        if item.line_key not in vendor_of_line:
            continue
        vendor_id = vendor_of_line[item.line_key]
        minor = min(to_minor(quantize(item.amount, currency), currency), state.line_net[item.line_key],
                    state.package_net(vendor_id) - 1)
        state.add_from(item.source, item.source_id, item.label, item.funder, GOODS, vendor_id, item.line_key, minor)
    skipped: dict[int, str] = {}
    applied: list[int] = []
    store_used: dict[int, int] = defaultdict(int)
    for voucher in [v for v in vouchers if not v.is_platform]:
        if voucher.vendor_id not in state.packages:
            skipped[voucher.id] = OUT_OF_SCOPE
            continue
        if store_used[voucher.vendor_id] >= stacking.store_per_package:
            skipped[voucher.id] = NOT_STACKABLE
            continue
        reason = _apply(state, voucher, [voucher.vendor_id])
        if reason:
            skipped[voucher.id] = reason
        else:
            store_used[voucher.vendor_id] += 1
            applied.append(voucher.id)
    platform_used = 0
    for voucher in [v for v in vouchers if v.is_platform]:
        if platform_used >= stacking.platform_per_checkout:
            skipped[voucher.id] = NOT_STACKABLE
            continue
        reason = _apply(state, voucher, list(state.packages))
        if reason:
            skipped[voucher.id] = reason
        else:
            platform_used += 1
            applied.append(voucher.id)
    points_used = points_allowed = 0
    if member is not None:
        points_used, points_allowed = _apply_member(state, member)
    result = {}
    for package in packages:
        goods = sum((line.amount for line in package.lines), Decimal(0))
        result[package.vendor_id] = PackagePricing(
            vendor_id=package.vendor_id,
            currency=currency,
            goods=Money(quantize(goods, currency), currency),
            shipping=Money(quantize(package.shipping, currency), currency),
            adjustments=[a for a in state.adjustments if a.vendor_id == package.vendor_id],
        )
    return Pricing(
        currency=currency, packages=result, applied=applied, skipped=skipped, points_used=points_used,
        points_allowed=points_allowed, points_requested=member.points_requested if member else 0,
        points_balance=member.points_balance if member else 0,
    )


__all__ = [
    "Adjustment", "LineAdjustment", "LineInput", "MemberTerms", "points_for_minor", "points_value_minor", "PackageInput", "PackagePricing", "Pricing", "Stacking", "VoucherTerms",
    "largest_remainder", "price_packages", "minor_exponent",
]
