"""The merchant console: a single-page app (console/, built into backend/core/static/console/).

/console/ and every path below it answer the bundle's index.html, so the app's own routes
(/console/orders/42) survive a reload; the app then talks only to the public core API at /graphql/.
The scripts and styles are static files (whitenoise with DEBUG off), named by their content hash;
index.html itself is never cached, so a deploy is picked up at the next page load.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

INDEX = Path(__file__).resolve().parent / "static" / "console" / "index.html"
BUILT_STATIC_PREFIX = "/static/"


@lru_cache(maxsize=1)
def _index_html(static_url: str) -> str:
    html = INDEX.read_text(encoding="utf-8")
    # The bundle is built for /static/; a deployment with another STATIC_URL gets its own.
    return html.replace(f'"{BUILT_STATIC_PREFIX}console/', f'"{static_url}console/')


@never_cache
@require_GET
def console_view(request: HttpRequest, path: str = "") -> HttpResponse:
    if not INDEX.is_file():
        raise Http404("The merchant console is not built (make console).")
    response = HttpResponse(_index_html(settings.STATIC_URL), content_type="text/html; charset=utf-8")
    # The app reads no referrer-sensitive state, and signed file links should not leak in Referer.
    response["Referrer-Policy"] = "same-origin"
    return response
