from django.urls import path

from .views import carrier_tracking_webhook

urlpatterns = [
    path(
        "webhooks/carriers/<str:carrier_id>/tracking/",
        carrier_tracking_webhook,
        name="carrier-tracking-webhook",
    ),
]
