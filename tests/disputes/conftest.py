from ..checkout.helpers import logistics_data  # noqa: F401 - autouse fixture
from .helpers import dispute_plugins  # noqa: F401 - autouse fixture
