from django.apps import AppConfig


class LogisticsConfig(AppConfig):
    name = "backend.logistics"
    label = "logistics"
    verbose_name = "Logistics and carriers"

    def ready(self):
        from .versions import connect_signals

        connect_signals()
