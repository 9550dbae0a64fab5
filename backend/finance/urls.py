from django.urls import path

from . import views

urlpatterns = [
    path("statements/<str:token>.<str:fmt>", views.statement_download, name="vendor-statement-download"),
]
