"""How the storefront shows vouchers and discounts (types only; promotions.py has the operations)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry import relay

from django.utils import timezone

from backend.promotions.flash_sales import flash_label
from backend.promotions.group_buying import deal_label, joinable_groups
from backend.promotions.models import FlashSale as FlashSaleModel
from backend.promotions.models import Voucher as VoucherModel
from backend.promotions.services import reason_message

from .core import Money


@strawberry.enum(name="VoucherKind")
class VoucherKind(Enum):
    AMOUNT_OFF = "amount_off"
    PERCENTAGE = "percentage"
    FREE_SHIPPING = "free_shipping"


@strawberry.enum(name="DiscountFunder", description="Who pays for a discount.")
class DiscountFunder(Enum):
    PLATFORM = "platform"
    STORE = "store"


@strawberry.enum(name="DiscountTarget")
class DiscountTarget(Enum):
    GOODS = "goods"
    SHIPPING = "shipping"


@strawberry.type(name="Voucher", description="A voucher: the platform's (across stores) or one store's.")
class Voucher:
    model: strawberry.Private[VoucherModel]

    @strawberry.field
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Voucher", str(self.model.pk))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def kind(self) -> VoucherKind:
        return VoucherKind(self.model.kind)

    @strawberry.field(description="Amount off, or the percentage off (10 = 10%).")
    def value(self) -> Decimal:
        return self.model.value

    @strawberry.field(description="The goods it covers must come to at least this.")
    def min_spend(self) -> Money:
        return Money.from_value(self.model.money(self.model.min_spend))

    @strawberry.field(description="Cap of a percentage voucher.")
    def max_discount(self) -> Money | None:
        return Money.from_value(self.model.money(self.model.max_discount)) if self.model.max_discount is not None else None

    @strawberry.field(description="The store whose voucher it is; null for a platform voucher.")
    def vendor(self) -> relay.GlobalID | None:
        return relay.GlobalID("Vendor", str(self.model.vendor_id)) if self.model.vendor_id else None

    @strawberry.field
    def is_platform_voucher(self) -> bool:
        return self.model.vendor_id is None

    @strawberry.field
    def starts_at(self) -> datetime | None:
        return self.model.starts_at

    @strawberry.field
    def ends_at(self) -> datetime | None:
        return self.model.ends_at


@strawberry.type(description="One discount of a package: what gave it, who pays for it, how much.")
class Discount:
    label: str
    source: str = strawberry.field(description="What gives it: voucher, flash_sale, tier (the member's level) or points.")
    voucher: Voucher | None
    funder: DiscountFunder
    target: DiscountTarget
    amount: Money


@strawberry.type(description="A voucher applied to the checkout, and whether it gives anything now.")
class AppliedVoucher:
    voucher: Voucher
    amount: Money
    problem: str | None = strawberry.field(description="Why it gives nothing now (threshold, scope, ended).")


@strawberry.type(description="A voucher the shopper could use on this checkout, priced alone on it.")
class VoucherOffer:
    voucher: Voucher
    amount: Money = strawberry.field(description="What it would take off this checkout.")
    claimed: bool = strawberry.field(description="The shopper claimed it (else: claim it first, couponClaim).")
    applied: bool


def package_discounts(pricing, vouchers: dict) -> list[Discount]:
    if pricing is None:
        return []
    return [
        Discount(
            label=a.label,
            source=a.source,
            voucher=Voucher(model=vouchers[a.source_id]) if a.source == "voucher" and a.source_id in vouchers else None,
            funder=DiscountFunder(a.funder),
            target=DiscountTarget(a.target),
            amount=Money.from_value(a.amount),
        )
        for a in pricing.summarized()
    ]


def applied_vouchers(pricing) -> list[AppliedVoucher]:
    if pricing is None:
        return []
    return [
        AppliedVoucher(
            voucher=Voucher(model=voucher),
            amount=Money.from_value(pricing.voucher_amount(pk)),
            problem=reason_message(pricing.skipped[pk]) if pk in pricing.skipped else None,
        )
        for pk, voucher in pricing.vouchers.items()
    ]


@strawberry.type(
    name="FlashSale",
    description="限时折扣 / 秒杀: the event price of a variant in a window, for a promotional quantity.",
)
class FlashSaleOffer:
    model: strawberry.Private[FlashSaleModel]
    regular: strawberry.Private[Money]

    @strawberry.field
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("FlashSale", str(self.model.pk))

    @strawberry.field(description="What the badge says (the store's name for the sale, or “Flash sale”).")
    def badge(self) -> str:
        return flash_label(self.model)

    @strawberry.field(description="The event price of one unit.")
    def price(self) -> Money:
        return Money.from_value(self.model.price)

    @strawberry.field(description="The regular price, shown struck through.")
    def original_price(self) -> Money:
        return self.regular

    @strawberry.field(description="In its window now (else it is coming: count down to startsAt).")
    def live(self) -> bool:
        return self.model.starts_at <= timezone.now() < self.model.ends_at

    @strawberry.field
    def starts_at(self) -> datetime:
        return self.model.starts_at

    @strawberry.field(description="When the price ends: the countdown's end.")
    def ends_at(self) -> datetime:
        return self.model.ends_at

    @strawberry.field(description="Units on sale in all.")
    def quantity(self) -> int:
        return self.model.quantity

    @strawberry.field(description="Units still to be had at the price.")
    def remaining(self) -> int:
        return self.model.remaining

    @strawberry.field
    def sold_out(self) -> bool:
        return self.model.remaining == 0

    @strawberry.field(description="Units one shopper may buy at the price; null: no limit.")
    def per_shopper_limit(self) -> int | None:
        return self.model.per_shopper_limit


def flash_offer(sale, regular_amount, currency) -> FlashSaleOffer:
    return FlashSaleOffer(model=sale, regular=Money(amount=regular_amount, currency=currency))


@strawberry.type(name="OpenGroup", description="An open group of a group deal a shopper may join.")
class OpenGroup:
    model: strawberry.Private[object]
    size: strawberry.Private[int]

    @strawberry.field
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Group", str(self.model.pk))

    @strawberry.field(description="Members in it now.")
    def member_count(self) -> int:
        return self.model.member_count

    @strawberry.field(description="Members still needed for the group to fill.")
    def members_needed(self) -> int:
        return max(0, self.size - self.model.member_count)

    @strawberry.field(description="When it fails unless it fills first: the countdown's end.")
    def expires_at(self) -> datetime:
        return self.model.expires_at


@strawberry.type(
    name="GroupDeal",
    description="拼团: the deal price of a variant when groupSize shoppers join one group within its window.",
)
class GroupDealOffer:
    model: strawberry.Private[object]
    regular: strawberry.Private[Money]

    @strawberry.field
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("GroupDeal", str(self.model.pk))

    @strawberry.field(description="What the badge says (the store's name for the deal, or “Group deal”).")
    def badge(self) -> str:
        return deal_label(self.model)

    @strawberry.field(description="The deal price of one unit.")
    def price(self) -> Money:
        return Money.from_value(self.model.price)

    @strawberry.field(description="The regular price, shown struck through (and paid alone).")
    def original_price(self) -> Money:
        return self.regular

    @strawberry.field(description="Members a group needs.")
    def group_size(self) -> int:
        return self.model.group_size

    @strawberry.field(description="How long a new group stays open (hours; never past endsAt).")
    def window_hours(self) -> int:
        return self.model.window_hours

    @strawberry.field(description="Units one shopper may buy at the deal price; null: no limit.")
    def per_shopper_limit(self) -> int | None:
        return self.model.per_shopper_limit

    @strawberry.field
    def starts_at(self) -> datetime:
        return self.model.starts_at

    @strawberry.field(description="No group is opened nor joined after it.")
    def ends_at(self) -> datetime:
        return self.model.ends_at

    @strawberry.field(description="Groups a shopper may join now, the soonest to expire first.")
    def open_groups(self) -> list[OpenGroup]:
        groups = getattr(self.model, "open_groups", None)
        if groups is None:
            groups = list(joinable_groups([self.model.pk]))
        return [
            OpenGroup(model=g, size=self.model.group_size) for g in groups
            if g.expires_at > timezone.now() and g.member_count < self.model.group_size
        ]


def group_offer(deal, regular_amount, currency) -> GroupDealOffer:
    return GroupDealOffer(model=deal, regular=Money(amount=regular_amount, currency=currency))


@strawberry.type(name="CheckoutGroupBuy", description="The checkout's group buy: the group it joins or opens.")
class CheckoutGroupBuy:
    deal: GroupDealOffer
    group: OpenGroup | None = strawberry.field(description="The group joined; null: the checkout opens a new group.")
    units: int = strawberry.field(description="Units of the line at the deal price.")
    problem: str | None = strawberry.field(
        default=None, description="Why the deal price cannot be had now (completion is refused until it is changed)."
    )


@strawberry.enum(name="GroupStatus", description="拼团: a group is open until it fills or its window closes.")
class GroupStatus(Enum):
    OPEN = "open"
    FILLED = "filled"
    FAILED = "failed"


@strawberry.type(name="OrderGroup", description="The group an order was bought in (拼团), to follow or to share.")
class OrderGroup:
    model: strawberry.Private[object]

    @strawberry.field(description="The group's ID: a friend joins with it (checkoutGroupBuySet).")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Group", str(self.model.pk))

    @strawberry.field
    def status(self) -> GroupStatus:
        return GroupStatus(self.model.status)

    @strawberry.field(description="Members a group needs.")
    def group_size(self) -> int:
        return self.model.deal.group_size

    @strawberry.field(description="Members holding a slot now.")
    def member_count(self) -> int:
        return len([m for m in self.model.members.all() if m.left_at is None])

    @strawberry.field(description="Members still needed (0 once filled or failed).")
    def members_needed(self) -> int:
        if self.model.status != GroupStatus.OPEN.value:
            return 0
        return max(0, self.model.deal.group_size - len([m for m in self.model.members.all() if m.left_at is None]))

    @strawberry.field(description="When it fails unless it fills first: the countdown's end.")
    def expires_at(self) -> datetime:
        return self.model.expires_at
