from enum import Enum


class PromotionErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # The voucher's validity window has not started or is over, or it was switched off.
    VOUCHER_NOT_ACTIVE = "voucher_not_active"
    # Nothing in the checkout is in the voucher's scope, or its threshold is not reached.
    VOUCHER_NOT_APPLICABLE = "voucher_not_applicable"
    # The voucher's total or per-shopper limit is used up.
    VOUCHER_LIMIT_REACHED = "voucher_limit_reached"
    # This coupon was claimed already by this shopper.
    ALREADY_CLAIMED = "already_claimed"
    # The code is taken by another voucher.
    CODE_TAKEN = "code_taken"
    # A flash sale's price shown is gone (sold out, over the shopper's limit, ended): nothing was charged.
    PRICE_CHANGED = "price_changed"
    # The group buy cannot be had (the deal ended, the group filled, closed or has the shopper already,
    # the shopper's limit is reached): nothing was charged.
    GROUP_NOT_JOINABLE = "group_not_joinable"
    # Signing in is needed (claiming coupons, per-shopper limits on a coupon).
    SIGN_IN_REQUIRED = "sign_in_required"
