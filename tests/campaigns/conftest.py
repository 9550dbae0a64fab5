from ..checkout.helpers import logistics_data, marketplace_plugins  # noqa: F401 - autouse fixtures
