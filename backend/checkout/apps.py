from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "backend.checkout"
    label = "checkout"
    verbose_name = "Checkout across stores"

    def ready(self):
        # A gateway's webhook about a payment session completes its checkout (payments' hook point).
        from backend.payments import services as payments

        from .services import on_session_event

        if on_session_event not in payments.SESSION_EVENT_HANDLERS:
            payments.SESSION_EVENT_HANDLERS.append(on_session_event)
