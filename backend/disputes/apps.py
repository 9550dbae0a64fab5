from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "backend.disputes"
    label = "disputes"
    verbose_name = "Disputes, returns and arbitration"

    def ready(self):
        # A carrier's DELIVERED event on a return parcel shortens the vendor's time to confirm it.
        from backend.logistics import services as logistics

        from .services import dispute_return_delivered

        if dispute_return_delivered not in logistics.SHIPMENT_DELIVERED_HANDLERS:
            logistics.SHIPMENT_DELIVERED_HANDLERS.append(dispute_return_delivered)
