"""Product search behind one interface; settings.SEARCH_BACKEND names the backend class."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

DATABASE_BACKEND = "backend.search.backends.database.DatabaseBackend"


@lru_cache(maxsize=8)
def _backend(path: str):
    return import_string(path)()


def get_search_backend():
    """The configured backend (one instance per class path and process)."""
    return _backend(settings.SEARCH_BACKEND)


def get_database_backend():
    """The database backend: the embedded default, and every other backend's fallback."""
    return _backend(DATABASE_BACKEND)
