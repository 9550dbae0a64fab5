"""The world is built once for the package, inside a transaction rolled back at the end.

Each test runs in its own savepoint on top of it (pytest-django's `db`), so whatever a
test changes is undone before the next one, and other packages never see the world.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings

from .operations import fingerprint
from .world import build_world


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = str(tmp_path_factory.mktemp("security-media"))
    private_media = str(tmp_path_factory.mktemp("security-private-media"))
    overrides = override_settings(
        MEDIA_ROOT=media,
        PRIVATE_MEDIA_ROOT=private_media,
        PLUGINS=list(django_settings.DEFAULT_PLUGINS),
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        PAYOUT_MINIMUM_AMOUNT=Decimal("1.00"),
        # The stores' webhooks point at a closed loopback port (world.HOOK_URL): refused at once.
        NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
    )
    with overrides, django_db_blocker.unblock():
        with transaction.atomic():
            built = build_world(media)
            built.private_media_root = private_media
            built.baseline = fingerprint()
            yield built
            transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def media_root(world, settings, db):
    """Replaces the suite's per-test media folder: the world's files must stay reachable."""
    settings.MEDIA_ROOT = world.media_root
    settings.PLUGINS = list(django_settings.DEFAULT_PLUGINS)
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("1.00")
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    return world.media_root


@pytest.fixture(autouse=True)
def private_media_root(world, settings):
    """Likewise for the world's private files (documents, evidence)."""
    settings.PRIVATE_MEDIA_ROOT = world.private_media_root
    return world.private_media_root
