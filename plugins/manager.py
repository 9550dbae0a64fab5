"""Runs the active plugins in the configured order (settings.PLUGINS)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BasePlugin
from .models import PluginConfiguration

# Attribute under which a request keeps its manager, so one request reads the
# configuration rows once however many hooks it runs.
REQUEST_CACHE_ATTRIBUTE = "_plugins_manager"


@lru_cache(maxsize=32)
def _load_class(path: str) -> type[BasePlugin]:
    return import_string(path)


def plugin_classes(paths: list[str] | None = None) -> list[type[BasePlugin]]:
    return [_load_class(path) for path in (settings.PLUGINS if paths is None else paths)]


def plugin_class(plugin_id: str) -> type[BasePlugin] | None:
    """The configured plugin class with this PLUGIN_ID, or None when it is not in settings.PLUGINS."""
    for candidate in plugin_classes():
        if candidate.PLUGIN_ID == plugin_id:
            return candidate
    return None


class PluginsManager:
    def __init__(self, plugin_paths: list[str] | None = None):
        self.plugin_paths = list(settings.PLUGINS if plugin_paths is None else plugin_paths)
        classes = plugin_classes(self.plugin_paths)
        rows = {
            row.identifier: row
            for row in PluginConfiguration.objects.filter(identifier__in=[c.PLUGIN_ID for c in classes])
        }
        self.all_plugins: list[BasePlugin] = []
        for plugin_class in classes:
            row = rows.get(plugin_class.PLUGIN_ID)
            self.all_plugins.append(
                plugin_class(
                    configuration=row.configuration if row else None,
                    active=row.active if row else None,
                )
            )

    @property
    def active_plugins(self) -> list[BasePlugin]:
        return [plugin for plugin in self.all_plugins if plugin.active]

    def get_plugin(self, plugin_id: str, *, active_only: bool = True) -> BasePlugin | None:
        for plugin in self.all_plugins if not active_only else self.active_plugins:
            if plugin.PLUGIN_ID == plugin_id:
                return plugin
        return None

    def run_hook(self, hook: str, default_value: Any, *args, **kwargs) -> Any:
        """Call `hook` on each active plugin in order, threading previous_value through."""
        value = default_value
        for plugin in self.active_plugins:
            method = getattr(plugin, hook, None)
            if method is None:
                continue
            result = method(*args, previous_value=value, **kwargs)
            if result is not NotImplemented:
                value = result
        return value

    def run_plugin_hook(self, plugin_id: str, hook: str, default_value: Any, *args, **kwargs) -> Any:
        """Call `hook` on one active plugin only (a chosen gateway or carrier)."""
        plugin = self.get_plugin(plugin_id)
        if plugin is None:
            return default_value
        result = getattr(plugin, hook)(*args, previous_value=default_value, **kwargs)
        return default_value if result is NotImplemented else result


def get_plugins_manager(request=None) -> PluginsManager:
    """A manager for this request (built once per request), or a fresh one without a request."""
    if request is None:
        return PluginsManager()
    manager = getattr(request, REQUEST_CACHE_ATTRIBUTE, None)
    # settings.PLUGINS can change under a running process only in tests; rebuild then.
    if manager is None or manager.plugin_paths != list(settings.PLUGINS):
        manager = PluginsManager()
        setattr(request, REQUEST_CACHE_ATTRIBUTE, manager)
    return manager


def forget_plugins_manager(request) -> None:
    """Drop a request's cached manager after its configuration changed."""
    if request is not None and hasattr(request, REQUEST_CACHE_ATTRIBUTE):
        delattr(request, REQUEST_CACHE_ATTRIBUTE)
