from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "backend.finance"
    label = "finance"
    verbose_name = "Finance: escrow ledger, fees, deposits and payouts"

    def ready(self):
        # An entry fee or deposit paid through a gateway that answered later (webhook).
        from backend.payments import services as payments

        from .entry_fees import on_vendor_payment_captured

        if on_vendor_payment_captured not in payments.PAYMENT_CAPTURED_HANDLERS:
            payments.PAYMENT_CAPTURED_HANDLERS.append(on_vendor_payment_captured)
