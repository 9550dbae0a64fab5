"""Both APIs refuse cross-site simple requests (Apollo Server's CSRF prevention).

A page on another site can make a browser send a "simple" request without asking first: a POST
whose Content-Type is application/x-www-form-urlencoded, multipart/form-data or text/plain (or
absent) and whose headers are all CORS-safelisted. graphene-django runs form-encoded and multipart
bodies, strawberry multipart ones, so such a post reached the anonymous mutations (accountRegister,
tokenCreate: a password spray from every visitor's address). A POST is therefore served only if
the browser would have sent a CORS preflight for it first, which the core API never answers with
CORS headers and the storefront answers only for CORS_ALLOWED_ORIGINS:

- its Content-Type is anything but those three (application/json, application/graphql), or
- it carries a non-empty header no cross-site form can set: Apollo-Require-Preflight,
  X-Apollo-Operation-Name, X-Requested-With, or Authorization (every signed-in request has one).

Multipart uploads (the GraphQL multipart request spec) thus work from the project's own clients,
which send the bearer token, and from anonymous ones sending `Apollo-Require-Preflight: true`.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_noop

SIMPLE_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
PREFLIGHT_HEADERS = ("Apollo-Require-Preflight", "X-Apollo-Operation-Name", "X-Requested-With", "Authorization")
CODE = "CROSS_SITE_REQUEST_REFUSED"
MESSAGE = gettext_noop(
    "This request has been refused as a potential cross-site request forgery. Send it with "
    "Content-Type: application/json, or with a non-empty Apollo-Require-Preflight header "
    "(multipart uploads)."
)


def is_preflighted(request: HttpRequest) -> bool:
    """Whether a browser would have had to ask (CORS preflight) before sending this request."""
    content_type = (request.content_type or "").strip().lower()
    if content_type and content_type not in SIMPLE_CONTENT_TYPES:
        return True
    return any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS)


def cross_site_request_refusal(request: HttpRequest) -> HttpResponse | None:
    """A 400 answer for a POST that a cross-site page could have sent, or None to serve it."""
    if request.method != "POST" or is_preflighted(request):
        return None
    body = {"errors": [{"message": gettext(MESSAGE), "extensions": {"code": CODE}}]}
    return HttpResponse(json.dumps(body), status=400, content_type="application/json")


class RefuseCrossSiteRequests:
    """Mixed into both GraphQL views, before anything else of the request is looked at."""

    def dispatch(self, request, *args, **kwargs):
        refusal = cross_site_request_refusal(request)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)
