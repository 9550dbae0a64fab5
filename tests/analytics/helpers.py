"""Shared builders of the analytics tests."""

from backend.analytics.recorder import flush, get_buffer

VISITOR = "visitor-0123456789"


def visit(client, visitor=VISITOR, *, page="", referrer=""):
    """Make the client's storefront requests those of one visitor on one page."""
    client.client.defaults.update(HTTP_X_VISITOR_ID=visitor, HTTP_X_PAGE_URL=page, HTTP_X_PAGE_REFERRER=referrer)
    return client


def flushed() -> int:
    return flush()


def buffered() -> int:
    return len(get_buffer())
