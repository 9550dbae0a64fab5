import pytest

from ..checkout.helpers import logistics_data  # noqa: F401 - autouse fixture
from ..disputes.helpers import dispute_plugins  # noqa: F401 - autouse fixture
from .receiver import Receiver


@pytest.fixture(autouse=True)
def loopback_webhooks(settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def platform_hook(db, receiver):
    """A platform webhook subscription (every event) to the loopback receiver."""
    from backend.notifications.models import WebhookSubscription

    subscription = WebhookSubscription.objects.create(url=receiver.url)
    receiver.secret = subscription.secret
    return subscription
