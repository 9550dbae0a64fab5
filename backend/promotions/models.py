"""Vouchers (typed codes and claimable coupons), the coupons shoppers claimed, the vouchers a
checkout carries, redemptions (counted at order placement) and each order's discount lines.

A voucher belongs to the platform (vendor is null: it applies across stores) or to one store.
Who pays for it is `platform_share_percent`: 100 for a platform-funded voucher, 0 for a
store-funded one, anything between for a co-funded one. Amounts are Decimal in the voucher's
currency.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from backend.core.money import Money, quantize

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class VoucherKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", "Amount off above a threshold (满减)"
    PERCENTAGE = "percentage", "Percentage off, with a cap"
    FREE_SHIPPING = "free_shipping", "Free shipping"


class Funder(models.TextChoices):
    PLATFORM = "platform", "The platform"
    STORE = "store", "The store"


class DiscountTarget(models.TextChoices):
    GOODS = "goods", "Goods"
    SHIPPING = "shipping", "Shipping"


class Voucher(models.Model):
    vendor = models.ForeignKey(
        "vendors.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers",
        help_text="The store whose voucher this is; empty for a platform voucher (across stores).",
    )
    name = models.CharField(max_length=128)
    code = models.CharField(
        max_length=32, unique=True, null=True, blank=True,
        help_text="What a shopper types in (stored upper case); empty for a coupon that is only claimed.",
    )
    claimable = models.BooleanField(default=False, help_text="Shoppers may claim it as a coupon (a store's page).")
    kind = models.CharField(max_length=16, choices=VoucherKind.choices)
    value = models.DecimalField(
        **AMOUNT, default=Decimal("0"), help_text="Amount off, or the percentage off (10 = 10%); unused for free shipping."
    )
    max_discount = models.DecimalField(**AMOUNT, null=True, blank=True, help_text="Cap of a percentage voucher.")
    min_spend = models.DecimalField(
        **AMOUNT, default=Decimal("0"), help_text="Threshold: the goods in scope must come to at least this."
    )
    platform_share_percent = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Part of the discount the platform pays (100 platform-funded, 0 store-funded).",
    )
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Orders placements in all; empty: no limit.")
    per_shopper_limit = models.PositiveIntegerField(null=True, blank=True, default=1)
    used_count = models.PositiveIntegerField(default=0, help_text="Checkouts placed with it (counted at placement).")
    is_active = models.BooleanField(default=True)
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+",
                                        help_text="In scope: these categories and their descendants.")
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    vendors = models.ManyToManyField("vendors.Vendor", blank=True, related_name="+",
                                     help_text="A platform voucher limited to these stores.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["vendor", "-created_at"], name="promotions_voucher_vendor")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code or self.pk})"

    @property
    def is_platform(self) -> bool:
        return self.vendor_id is None

    def money(self, amount) -> Money:
        return Money(quantize(amount, self.currency), self.currency)


class Coupon(models.Model):
    """A voucher a shopper claimed (from a store's page or the platform's)."""

    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="coupons")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coupons")
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["voucher", "user"], name="promotions_one_coupon_per_shopper")]


class CheckoutVoucher(models.Model):
    """A voucher applied to an open checkout; priced on every read, redeemed at placement."""

    checkout = models.ForeignKey("checkout.Checkout", on_delete=models.CASCADE, related_name="vouchers")
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["checkout", "voucher"], name="promotions_voucher_once_per_checkout")]


class VoucherRedemption(models.Model):
    """One use of a voucher: a checkout's orders placed with it (the limits count these)."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(blank=True)
    checkout_token = models.UUIDField()
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Given back: every order placed with it was cancelled before shipment (no longer counted).",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["voucher", "checkout_token"], name="promotions_redeemed_once_per_checkout")
        ]
        indexes = [models.Index(fields=["voucher", "user"]), models.Index(fields=["voucher", "email"])]


class OrderDiscount(models.Model):
    """One discount line of an order: what, who paid for it, how much; a goods line names its order line."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="discounts")
    order_line = models.ForeignKey("orders.OrderLine", null=True, blank=True, on_delete=models.CASCADE, related_name="discounts")
    voucher = models.ForeignKey(Voucher, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flash_sale = models.ForeignKey("FlashSale", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    group_deal = models.ForeignKey("GroupDeal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(
        max_length=16, default="voucher", help_text="What gave it: voucher, flash_sale, group_deal (later: member, points)."
    )
    label = models.CharField(max_length=160)
    funder = models.CharField(max_length=16, choices=Funder.choices)
    target = models.CharField(max_length=16, choices=DiscountTarget.choices)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]

    @property
    def money(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)


class FlashSale(models.Model):
    """限时折扣 / 秒杀: a store's event price for one of its variants, from `starts_at` to `ends_at`,
    for `quantity` units in all (its stock stays the variant's). The units sold at the price are
    counted at order placement under the row's lock; the database refuses more than `quantity`."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="flash_sales")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="flash_sales")
    name = models.CharField(max_length=128, blank=True, help_text="Shown on the badge; empty: “Flash sale”.")
    price_amount = models.DecimalField(**AMOUNT, help_text="The event price of one unit.")
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    quantity = models.PositiveIntegerField(help_text="Units sold at the event price in all.")
    sold_count = models.PositiveIntegerField(default=0, help_text="Units sold at the event price (at placement).")
    per_shopper_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Units per shopper; empty: none.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["variant", "ends_at"], name="promotions_flash_variant"),
            models.Index(fields=["vendor", "-starts_at"], name="promotions_flash_vendor"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(sold_count__lte=models.F("quantity")),
                                   name="promotions_flash_never_oversold"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="promotions_flash_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name or 'Flash sale'} {self.variant_id} @ {self.price_amount}"

    @property
    def price(self) -> Money:
        return Money(quantize(self.price_amount, self.currency), self.currency)

    @property
    def remaining(self) -> int:
        return max(0, self.quantity - self.sold_count)


class FlashSalePurchase(models.Model):
    """Units of one order bought at a flash sale's price (per-shopper limits count these)."""

    flash_sale = models.ForeignKey(FlashSale, on_delete=models.PROTECT, related_name="purchases")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(blank=True)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True, help_text="Given back: the order was cancelled.")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["flash_sale", "order"], name="promotions_flash_once_per_order")]
        indexes = [models.Index(fields=["flash_sale", "user"]), models.Index(fields=["flash_sale", "email"])]


class GroupStatus(models.TextChoices):
    OPEN = "open", "Open (waiting for members)"
    FILLED = "filled", "Filled (its orders proceed)"
    FAILED = "failed", "Failed (its members are refunded)"


class GroupDeal(models.Model):
    """拼团: a store's deal price for one of its variants when `group_size` shoppers join one group
    within `window_hours` of its opening. Groups are opened from `starts_at` to `ends_at`; a group
    never runs past `ends_at` (its window is cut there)."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="group_deals")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="group_deals")
    name = models.CharField(max_length=128, blank=True, help_text="Shown on the badge; empty: “Group deal”.")
    price_amount = models.DecimalField(**AMOUNT, help_text="The deal price of one unit.")
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    group_size = models.PositiveSmallIntegerField(help_text="Members a group needs to fill (at least 2).")
    window_hours = models.PositiveSmallIntegerField(default=24, help_text="How long a group stays open.")
    per_shopper_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units per shopper at the deal price across its groups; empty: none."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["variant", "ends_at"], name="promotions_group_deal_variant"),
            models.Index(fields=["vendor", "-starts_at"], name="promotions_group_deal_vendor"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(group_size__gte=2), name="promotions_group_size_at_least_2"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="promotions_group_deal_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name or 'Group deal'} {self.variant_id} x{self.group_size} @ {self.price_amount}"

    @property
    def price(self) -> Money:
        return Money(quantize(self.price_amount, self.currency), self.currency)


class Group(models.Model):
    """One group of a deal, opened by its first member's order; OPEN until `group_size` members
    paid (FILLED: their orders proceed) or `expires_at` passed (FAILED: every member refunded)."""

    deal = models.ForeignKey(GroupDeal, on_delete=models.PROTECT, related_name="groups")
    status = models.CharField(max_length=16, choices=GroupStatus.choices, default=GroupStatus.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    expires_at = models.DateTimeField()
    filled_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(
        null=True, blank=True, help_text="A failed group: every member's order cancelled and refunded."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expires_at", "id"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="promotions_group_due"),
            models.Index(fields=["deal", "status"], name="promotions_group_deal_status"),
        ]

    def __str__(self) -> str:
        return f"Group {self.pk} of deal {self.deal_id} ({self.status})"


class GroupMember(models.Model):
    """A shopper's order in a group. It leaves (a free slot again) when its order is cancelled while
    the group is open; a failed group's members are settled (cancelled and refunded) one by one."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="members")
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="group_membership")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(blank=True)
    quantity = models.PositiveIntegerField(help_text="Units bought at the deal price.")
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True, help_text="Its order was cancelled while the group was open.")
    settled_at = models.DateTimeField(null=True, blank=True, help_text="The group failed: order cancelled and refunded.")

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["group", "left_at"], name="promotions_group_member_active")]


class CheckoutGroupBuy(models.Model):
    """A checkout buying a group deal: joining `group`, or opening a new group when it is empty."""

    checkout = models.OneToOneField("checkout.Checkout", on_delete=models.CASCADE, related_name="group_buy")
    deal = models.ForeignKey(GroupDeal, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
