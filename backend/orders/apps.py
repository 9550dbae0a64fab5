from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "backend.orders"
    label = "orders"
    verbose_name = "Orders, shipments and receipt confirmation"

    def ready(self):
        # Carriers' DELIVERED events move orders to delivered (logistics' hook point).
        from backend.logistics import services as logistics
        from backend.payments import services as payments

        from .services import (
            on_payment_captured,
            on_payment_disputed,
            on_payment_failed,
            on_refund_answered,
            order_shipment_delivered,
            orders_complete_refunds,
        )

        for handlers, handler in (
            (logistics.SHIPMENT_DELIVERED_HANDLERS, order_shipment_delivered),
            # A payment still pending at checkout is settled later by the gateway's webhook.
            (payments.PAYMENT_CAPTURED_HANDLERS, on_payment_captured),
            (payments.PAYMENT_FAILED_HANDLERS, on_payment_failed),
            # A chargeback keeps the orders' money in escrow.
            (payments.PAYMENT_DISPUTED_HANDLERS, on_payment_disputed),
            # Refunds the gateway did not answer at once: finished by the webhook or the periodic task.
            (payments.REFUND_ANSWERED_HANDLERS, on_refund_answered),
            (payments.REFUND_COMPLETERS, orders_complete_refunds),
        ):
            if handler not in handlers:
                handlers.append(handler)
