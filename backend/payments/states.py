"""Allowed status changes of payments, refunds and transfers, as data."""

from backend.core.state_machine import StateMachine

from .error_codes import PaymentErrorCode
from .models import PaymentStatus as P
from .models import RefundStatus as R
from .models import TransferStatus as T

payment_machine = StateMachine(
    "payment",
    {
        P.PENDING: {P.ACTION_REQUIRED, P.AUTHORIZED, P.CAPTURED, P.FAILED, P.CANCELLED},
        P.ACTION_REQUIRED: {P.AUTHORIZED, P.CAPTURED, P.FAILED, P.CANCELLED},
        P.AUTHORIZED: {P.CAPTURED, P.CANCELLED},
        P.CAPTURED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
        P.PARTIALLY_REFUNDED: {P.REFUNDED},
    },
    PaymentErrorCode.INVALID_TRANSITION,
)

refund_machine = StateMachine(
    "refund",
    {R.REQUESTED: {R.PENDING, R.SUCCEEDED, R.FAILED}, R.PENDING: {R.SUCCEEDED, R.FAILED}},
    PaymentErrorCode.INVALID_TRANSITION,
)

transfer_machine = StateMachine(
    "transfer",
    {T.PENDING: {T.PAID, T.FAILED}, T.PAID: {T.REVERSED}},
    PaymentErrorCode.INVALID_TRANSITION,
)
