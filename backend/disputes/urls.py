from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.dispute_evidence, name="dispute-evidence"),
]
