from django.urls import path

from . import views

urlpatterns = [
    path("reports/<str:token>.csv", views.report_download, name="analytics-report-download"),
]
