"""The plugin base class: named hooks that take the previous plugin's value.

A hook returns NotImplemented when the plugin has nothing to say, and the
manager passes the previous value on. Each domain adds its hooks here with a
docstring that is the contract; contracts that carry data are dataclasses in
the domain (for example plugins/logistics/interface.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError


class ConfigType:
    STRING = "string"
    SECRET = "secret"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    JSON = "json"


@dataclass(frozen=True)
class ConfigField:
    type: str = ConfigType.STRING
    default: Any = None
    help_text: str = ""
    choices: tuple = field(default=())

    def clean(self, name: str, value: Any) -> Any:
        """Coerce a value given by staff to this field's type, or raise INVALID."""
        if value is None:
            return None
        try:
            if self.type == ConfigType.BOOLEAN:
                if isinstance(value, bool):
                    return value
                if str(value).lower() in ("true", "1", "yes", "on"):
                    return True
                if str(value).lower() in ("false", "0", "no", "off"):
                    return False
                raise ValueError(value)
            if self.type == ConfigType.INTEGER:
                if isinstance(value, bool):
                    raise ValueError(value)
                return int(value)
            if self.type == ConfigType.DECIMAL:
                if isinstance(value, float):
                    raise ValueError(value)
                return str(Decimal(str(value)))
            if self.type == ConfigType.JSON:
                if isinstance(value, str):
                    import json

                    return json.loads(value)
                return value
            value = str(value)
            if self.choices and value not in self.choices:
                raise ValueError(value)
            return value
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise DomainError(
                CoreErrorCode.INVALID, f"{name}: {value!r} is not a valid {self.type}.", field="configuration"
            ) from exc


class BasePlugin:
    PLUGIN_ID: ClassVar[str] = ""
    PLUGIN_NAME: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    DEFAULT_ACTIVE: ClassVar[bool] = False
    CONFIG_STRUCTURE: ClassVar[dict[str, ConfigField]] = {}

    def __init__(self, *, configuration: dict[str, Any] | None = None, active: bool | None = None):
        self.active = self.DEFAULT_ACTIVE if active is None else active
        self.configuration = self.default_configuration()
        self.configuration.update(configuration or {})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.PLUGIN_ID} active={self.active}>"

    @classmethod
    def default_configuration(cls) -> dict[str, Any]:
        return {name: spec.default for name, spec in cls.CONFIG_STRUCTURE.items()}

    @classmethod
    def clean_configuration(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Check staff's values against CONFIG_STRUCTURE; subclasses may check more."""
        unknown = sorted(set(values) - set(cls.CONFIG_STRUCTURE))
        if unknown:
            raise DomainError(
                CoreErrorCode.INVALID,
                f"{cls.PLUGIN_ID} has no setting {', '.join(unknown)}.",
                field="configuration",
            )
        return {name: cls.CONFIG_STRUCTURE[name].clean(name, value) for name, value in values.items()}

    def get(self, name: str, default: Any = None) -> Any:
        value = self.configuration.get(name)
        return default if value is None else value

    # --- Hooks. Each takes previous_value and returns a new value or NotImplemented. ---
