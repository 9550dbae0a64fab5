from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path, re_path
from django.views.static import serve

from backend.core.console import console_view
from backend.core.observability import health_live, health_ready, metrics_view
from backend.graphql.api import schema
from backend.graphql.core.views import CoreGraphQLView
from storefront_api.views import StorefrontGraphQLView


urlpatterns = [
    path("graphql/", CoreGraphQLView.as_view(schema=schema, graphiql=settings.GRAPHIQL_ENABLED), name="api"),
    path("storefront/graphql/", StorefrontGraphQLView.as_view(), name="storefront-api"),
    path("admin/", admin.site.urls),
    # The merchant console (a single-page app on the core API): every path below /console/ is one of its pages.
    path("console/", console_view, name="console"),
    re_path(r"^console/(?P<path>.+)$", console_view, name="console-page"),
    # Answered by ObservabilityMiddleware before host checks; routed here too so reverse() works.
    path("health/", health_live, name="health"),
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
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
    # Analytics CSV exports: signed, short-lived links handed out by the core API.
    path("analytics/", include("backend.analytics.urls")),
]

# Static files (GraphiQL's assets, the admin's) from any WSGI server in development; an empty list
# with DEBUG off, where collectstatic and the web server serve them.
urlpatterns += staticfiles_urlpatterns()

if settings.DEBUG:
    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

admin.site.site_header = "Marketplace staff console"
admin.site.site_title = "Marketplace staff console"
admin.site.index_title = "Platform administration"
# The app list sits on the index page; without the sidebar every change list fits 1366 px.
admin.site.enable_nav_sidebar = False
