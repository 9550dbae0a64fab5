"""What staff may see of plugins, and how their settings are shown: secrets never leave."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.core.permissions import PlatformPermission, has_permission

from .base import BasePlugin, ConfigType
from .manager import PluginsManager


@dataclass(frozen=True)
class ConfigurationItem:
    name: str
    type: str
    help_text: str
    value: str | None
    is_set: bool


def visible_plugins(user, manager: PluginsManager) -> list[BasePlugin]:
    """Every configured plugin for staff holding MANAGE_PLUGINS; nothing for anyone else."""
    if not has_permission(user, PlatformPermission.MANAGE_PLUGINS):
        return []
    return list(manager.all_plugins)


def _display(value: Any, config_type: str) -> str | None:
    if value is None:
        return None
    if config_type == ConfigType.JSON:
        return json.dumps(value, sort_keys=True)
    if config_type == ConfigType.BOOLEAN:
        return "true" if value else "false"
    return str(value)


def plugin_configuration_items(plugin: BasePlugin) -> list[ConfigurationItem]:
    """The plugin's settings in CONFIG_STRUCTURE order; a secret's value is always None."""
    items = []
    for name, spec in plugin.CONFIG_STRUCTURE.items():
        value = plugin.configuration.get(name)
        is_set = value not in (None, "")
        items.append(
            ConfigurationItem(
                name=name,
                type=spec.type,
                help_text=spec.help_text,
                value=None if spec.type == ConfigType.SECRET else _display(value, spec.type),
                is_set=is_set,
            )
        )
    return items
