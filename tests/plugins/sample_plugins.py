"""Plugins that exist only for the tests: each appends its mark to the previous value."""

from plugins.base import BasePlugin, ConfigField, ConfigType


class MarkingPlugin(BasePlugin):
    def append_mark(self, note: str = "", *, previous_value):
        return [*previous_value, f"{self.get('mark')}{note}"]


class FirstPlugin(MarkingPlugin):
    PLUGIN_ID = "tests.first"
    PLUGIN_NAME = "First test plugin"
    DESCRIPTION = "Appends its mark."
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "mark": ConfigField(ConfigType.STRING, default="a", help_text="What to append."),
        "api_key": ConfigField(ConfigType.SECRET, help_text="A secret that must never be shown."),
        "sandbox": ConfigField(ConfigType.BOOLEAN, default=True, help_text="Use the test environment."),
        "retries": ConfigField(ConfigType.INTEGER, default=3),
        "fee": ConfigField(ConfigType.DECIMAL, default="1.50"),
        "rules": ConfigField(ConfigType.JSON, default={"level": 1}),
        "mode": ConfigField(ConfigType.STRING, default="fast", choices=("fast", "slow")),
    }


class SecondPlugin(MarkingPlugin):
    PLUGIN_ID = "tests.second"
    PLUGIN_NAME = "Second test plugin"
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {"mark": ConfigField(ConfigType.STRING, default="b")}


class InactivePlugin(MarkingPlugin):
    PLUGIN_ID = "tests.inactive"
    PLUGIN_NAME = "Inactive test plugin"
    DEFAULT_ACTIVE = False
    CONFIG_STRUCTURE = {"mark": ConfigField(ConfigType.STRING, default="z")}


class SilentPlugin(BasePlugin):
    """Has the hook but nothing to say: the previous value must pass through."""

    PLUGIN_ID = "tests.silent"
    DEFAULT_ACTIVE = True

    def append_mark(self, note: str = "", *, previous_value):
        return NotImplemented


SAMPLE_PLUGINS = [
    "tests.plugins.sample_plugins.FirstPlugin",
    "tests.plugins.sample_plugins.SilentPlugin",
    "tests.plugins.sample_plugins.InactivePlugin",
    "tests.plugins.sample_plugins.SecondPlugin",
]
