from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.static import serve

from backend.graphql.api import schema
from backend.graphql.core.views import CoreGraphQLView
from storefront_api.views import StorefrontGraphQLView


def health(_request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("graphql/", CoreGraphQLView.as_view(schema=schema, graphiql=settings.GRAPHIQL_ENABLED), name="api"),
    path("storefront/graphql/", StorefrontGraphQLView.as_view(), name="storefront-api"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    # Carriers post signed tracking events here (POST /webhooks/carriers/<carrier id>/tracking/).
    path("", include("backend.logistics.urls")),
    # Payment gateways post signed events here (POST /webhooks/payments/<gateway id>/).
    path("", include("backend.payments.urls")),
    # Qualification documents are private: served only through signed, expiring links.
    path("vendor-documents/", include("backend.vendors.urls")),
    # Dispute evidence pictures are private too: signed, expiring links handed to the parties and staff.
    path("dispute-evidence/", include("backend.disputes.urls")),
    # Vendor statements (CSV, PDF): signed, short-lived links handed out by the core API.
    path("finance/", include("backend.finance.urls")),
]

if settings.DEBUG:
    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

admin.site.site_header = "Marketplace staff console"
admin.site.site_title = "Marketplace staff console"
admin.site.index_title = "Platform administration"
# The app list sits on the index page; without the sidebar every change list fits 1366 px.
admin.site.enable_nav_sidebar = False
