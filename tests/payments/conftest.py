import pytest

from ..factories import VendorFactory, vendor_with_owner


@pytest.fixture
def vendor(db):
    return VendorFactory()


@pytest.fixture
def other_vendor(db):
    return VendorFactory()


@pytest.fixture
def vendor_and_owner(db):
    return vendor_with_owner()


@pytest.fixture
def scripted_gateway(settings):
    from .gateways import PATH, ScriptedGateway

    settings.PLUGINS = [*settings.PLUGINS, PATH]
    ScriptedGateway.reset()
    return ScriptedGateway


@pytest.fixture
def configure_plugin(db):
    """Activate and configure a plugin as staff would (a PluginConfiguration row)."""
    from plugins.models import PluginConfiguration

    def configure(identifier: str, active: bool = True, **configuration):
        PluginConfiguration.objects.update_or_create(
            identifier=identifier, defaults={"active": active, "configuration": configuration}
        )

    return configure
