import io
import shutil
import tempfile

import pytest
from django.contrib.auth.models import Group, Permission
from PIL import Image

from backend.accounts.models import User
from backend.core.permissions import PlatformPermission

from .graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

PASSWORD = "Correct-Horse-42"


@pytest.fixture(autouse=True)
def media_root(settings):
    path = tempfile.mkdtemp(prefix="media-")
    settings.MEDIA_ROOT = path
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def private_media_root(settings):
    """Private files (documents, evidence) live apart from MEDIA_ROOT, as in production."""
    path = tempfile.mkdtemp(prefix="private-media-")
    settings.PRIVATE_MEDIA_ROOT = path
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    """A request with Accept-Language: zh-Hans leaves Simplified Chinese active in its thread (the
    locale middleware activates, nothing deactivates): each test starts in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Sign-in throttle counters live in the cache (locmem in tests): each test starts without any."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def analytics_buffer(settings):
    """Storefront events wait in this process's memory buffer, written only by an explicit flush
    (no background thread inside a test's transaction); each test starts with none."""
    from backend.analytics.recorder import get_buffer

    settings.ANALYTICS_AUTO_FLUSH = False
    settings.ANALYTICS_BUFFER_URL = "memory"
    get_buffer().clear()
    yield
    get_buffer().clear()


@pytest.fixture
def core_api(db):
    return GraphQLClient(CORE_URL)


@pytest.fixture
def storefront_api(db):
    return GraphQLClient(STOREFRONT_URL)


_counter = {"n": 0}


def make_user(email: str | None = None, *, is_staff: bool = False, permissions=(), password=PASSWORD) -> User:
    _counter["n"] += 1
    email = email or f"user{_counter['n']}@example.com"
    user = User.objects.create_user(email, password, is_staff=is_staff)
    if permissions:
        group = Group.objects.create(name=f"group-{_counter['n']}")
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="accounts", codename__in=[p.codename for p in permissions]
            )
        )
        user.groups.add(group)
    return user


@pytest.fixture
def user_factory(db):
    return make_user


@pytest.fixture
def shopper(db):
    return make_user("shopper@example.com")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@example.com", PASSWORD)


@pytest.fixture
def staff_factory(db):
    def factory(*permissions: PlatformPermission, email: str | None = None) -> User:
        return make_user(email, is_staff=True, permissions=permissions)

    return factory


def image_bytes(size=(800, 800), fmt="PNG", color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def make_image():
    return image_bytes


class Mailbox:
    """Account emails: sent after commit through a task, captured here (Django's locmem backend)."""

    def __init__(self, capture):
        self._capture = capture

    def capture(self):
        return self._capture(execute=True)

    @property
    def outbox(self):
        from django.core import mail

        return mail.outbox

    def only(self, address: str):
        found = [m for m in self.outbox if m.to == [address]]
        assert len(found) == 1, [(m.to, m.subject) for m in self.outbox]
        return found[0]

    @staticmethod
    def token(message) -> str:
        import re

        return re.search(r"token: (\S+)", message.body).group(1)


@pytest.fixture
def mailbox(django_capture_on_commit_callbacks, mailoutbox):
    return Mailbox(django_capture_on_commit_callbacks)
