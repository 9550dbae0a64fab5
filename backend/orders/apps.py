from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "backend.orders"
    label = "orders"
    verbose_name = "Orders, shipments and receipt confirmation"

    def ready(self):
        # Carriers' DELIVERED events move orders to delivered (logistics' hook point).
        from backend.logistics import services as logistics

        from .services import order_shipment_delivered

        if order_shipment_delivered not in logistics.SHIPMENT_DELIVERED_HANDLERS:
            logistics.SHIPMENT_DELIVERED_HANDLERS.append(order_shipment_delivered)
