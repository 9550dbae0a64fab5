"""Vouchers for shoppers: apply or remove one on a checkout, claim a store's (or the platform's)
coupon, list the coupons claimed and the best vouchers for a checkout. Rules live in
backend.promotions.services."""

from __future__ import annotations

from datetime import datetime

import strawberry
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.types import Info

from backend.core.exceptions import DomainError
from backend.promotions import group_buying, selectors
from backend.promotions import services
from backend.promotions.error_codes import PromotionErrorCode
from backend.promotions.models import Voucher as VoucherModel

from .checkout import Checkout, fetch_checkout
from .core import Money, current_user, error_type, run_mutation
from .discounts import Voucher, VoucherOffer
from .ids import key_of, key_or_not_found

PromotionError = error_type("PromotionError", PromotionErrorCode)


@strawberry.type(description="A coupon the shopper claimed.")
class Coupon:
    voucher: Voucher
    claimed_at: datetime


@strawberry.type
class CheckoutVoucherPayload:
    checkout: Checkout | None = None
    errors: list[PromotionError]


@strawberry.type
class CouponClaimPayload:
    coupon: Coupon | None = None
    errors: list[PromotionError]


def _coupon(coupon) -> Coupon:
    return Coupon(voucher=Voucher(model=coupon.voucher), claimed_at=coupon.claimed_at)


@strawberry.type
class PromotionQuery:
    @strawberry.field(description="Coupons a shopper may claim: a store's (vendor given) or the platform's.")
    def claimable_coupons(self, vendor: relay.GlobalID | None = None) -> list[Voucher]:
        vendor_id = key_of(vendor, "Vendor") if vendor is not None else None
        if vendor is not None and vendor_id is None:
            return []
        return [Voucher(model=v) for v in selectors.claimable_coupons(vendor=vendor_id).order_by("pk")]

    @strawberry.field(description="The coupons the signed-in shopper claimed, newest first.")
    def my_coupons(self, info: Info) -> list[Coupon]:
        return [_coupon(c) for c in selectors.shopper_coupons(current_user(info))]

    @strawberry.field(description="The vouchers the shopper could use on this checkout now, best first.")
    def best_vouchers(self, info: Info, checkout: relay.GlobalID) -> list[VoucherOffer]:
        try:
            found = fetch_checkout(info, checkout, for_update=False)
        except DomainError:
            return []
        return [
            VoucherOffer(voucher=Voucher(model=o.voucher), amount=Money.from_value(o.amount), claimed=o.claimed, applied=o.applied)
            for o in services.best_vouchers(checkout=found, user=current_user(info))
        ]


@strawberry.type
class PromotionMutation:
    @strawberry.mutation(
        description=(
            "Apply a voucher to the checkout, by its code or as a coupon the shopper claimed. At most one "
            "platform voucher per checkout and one voucher per store package: a second replaces the first."
        )
    )
    def checkout_voucher_apply(
        self, info: Info, id: relay.GlobalID, code: str | None = None, coupon: relay.GlobalID | None = None
    ) -> CheckoutVoucherPayload:
        def action():
            checkout = fetch_checkout(info, id)
            services.checkout_voucher_apply(
                checkout=checkout, user=current_user(info), code=code,
                voucher_id=key_or_not_found(coupon, "Voucher", field="coupon") if coupon is not None else None,
            )
            return {"checkout": Checkout.of(checkout)}

        return run_mutation(CheckoutVoucherPayload, PromotionError, action)

    @strawberry.mutation(description="Take a voucher off the checkout.")
    def checkout_voucher_remove(self, info: Info, id: relay.GlobalID, voucher: relay.GlobalID) -> CheckoutVoucherPayload:
        def action():
            checkout = fetch_checkout(info, id)
            services.checkout_voucher_remove(
                checkout=checkout, voucher_id=key_or_not_found(voucher, "Voucher", field="voucher")
            )
            return {"checkout": Checkout.of(checkout)}

        return run_mutation(CheckoutVoucherPayload, PromotionError, action)

    @strawberry.mutation(
        description=(
            "Buy the checkout's line of a group deal's variant at the deal price (拼团): join an open group, or "
            "open a new one (no group). Paid like any order, the store's order is held until the group fills; "
            "a group that does not fill in time is cancelled and refunded in full."
        )
    )
    def checkout_group_buy_set(
        self, info: Info, id: relay.GlobalID, deal: relay.GlobalID, group: relay.GlobalID | None = None
    ) -> CheckoutVoucherPayload:
        def action():
            checkout = fetch_checkout(info, id)
            group_buying.checkout_group_buy_set(
                checkout=checkout, user=current_user(info), deal_id=key_or_not_found(deal, "GroupDeal", field="deal"),
                group_id=key_or_not_found(group, "Group", field="group") if group is not None else None,
            )
            return {"checkout": Checkout.of(checkout)}

        return run_mutation(CheckoutVoucherPayload, PromotionError, action)

    @strawberry.mutation(description="Buy the checkout's lines at their usual prices again (no group buy).")
    def checkout_group_buy_remove(self, info: Info, id: relay.GlobalID) -> CheckoutVoucherPayload:
        def action():
            checkout = fetch_checkout(info, id)
            group_buying.checkout_group_buy_remove(checkout=checkout)
            return {"checkout": Checkout.of(checkout)}

        return run_mutation(CheckoutVoucherPayload, PromotionError, action)

    @strawberry.mutation(description="Claim a coupon (signed in; once per shopper).")
    def coupon_claim(self, info: Info, voucher: relay.GlobalID) -> CouponClaimPayload:
        def action():
            pk = key_or_not_found(voucher, "Voucher", field="voucher")
            found = VoucherModel.objects.filter(pk=pk, claimable=True).first()
            if found is None:
                raise DomainError(PromotionErrorCode.NOT_FOUND, _("No such coupon."), field="voucher")
            return {"coupon": _coupon(services.coupon_claim(user=current_user(info), voucher=found))}

        return run_mutation(CouponClaimPayload, PromotionError, action)
