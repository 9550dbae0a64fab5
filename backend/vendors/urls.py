from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.application_document, name="vendor-document"),
]
