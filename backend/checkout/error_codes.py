from enum import Enum


class CheckoutErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # The listing is no longer published, its store no longer sells, or the variant is gone.
    PRODUCT_UNAVAILABLE = "product_unavailable"
    INSUFFICIENT_STOCK = "insufficient_stock"
    # Prices (goods or shipping) changed since the shopper last saw the checkout; it shows the new ones.
    PRICE_CHANGED = "price_changed"
    CURRENCY_MISMATCH = "currency_mismatch"
    EMPTY_CHECKOUT = "empty_checkout"
    EMAIL_REQUIRED = "email_required"
    SHIPPING_ADDRESS_REQUIRED = "shipping_address_required"
    UNKNOWN_REGION = "unknown_region"
    SHIPPING_METHOD_REQUIRED = "shipping_method_required"
    SHIPPING_METHOD_NOT_AVAILABLE = "shipping_method_not_available"
    ALREADY_COMPLETED = "already_completed"
    # Payment outcomes (from backend.payments).
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_TIMEOUT = "payment_timeout"
    PAYMENT_ERROR = "payment_error"
    GATEWAY_NOT_AVAILABLE = "gateway_not_available"
    # Payment sessions (checkoutPaymentCreate, then checkoutComplete with the session).
    # The shopper has not confirmed the payment with the gateway yet (or the gateway is still processing it).
    PAYMENT_NOT_CONFIRMED = "payment_not_confirmed"
    # The checkout changed after the payment session started; start a new one (the old one is voided).
    CHECKOUT_CHANGED = "checkout_changed"
    # The session failed, expired or was cancelled; start a new one.
    PAYMENT_SESSION_CLOSED = "payment_session_closed"
    # The gateway says another amount or currency was paid than the session asked for.
    PAYMENT_AMOUNT_MISMATCH = "payment_amount_mismatch"
    # A voucher applied to the checkout can no longer be used (its limits were used up meanwhile,
    # or it ended); the checkout shows the new totals without it.
    VOUCHER_NOT_AVAILABLE = "voucher_not_available"
    # The points asked for on the checkout are no longer there (spent or taken back meanwhile);
    # the checkout shows the new totals.
    POINTS_INSUFFICIENT = "points_insufficient"
    # The checkout's group buy cannot be had any more (the group filled or closed, the deal ended,
    # the shopper's limit is reached); nothing was charged.
    GROUP_NOT_JOINABLE = "group_not_joinable"
