from django.urls import path

from .views import payment_webhook

urlpatterns = [
    path("webhooks/payments/<str:gateway_id>/", payment_webhook, name="payment-webhook"),
]
