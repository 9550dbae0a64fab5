from django.apps import AppConfig


class VendorsConfig(AppConfig):
    name = "backend.vendors"
    label = "vendors"
