"""Staff switch plugins on and off and change their settings; every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, require_permission

from .base import ConfigType
from .error_codes import PluginErrorCode
from .manager import plugin_class
from .models import PluginConfiguration


def plugin_update(
    *,
    actor,
    plugin_id: str,
    active: bool | None = None,
    configuration: Iterable[tuple[str, Any]] | None = None,
) -> PluginConfiguration:
    """Change a configured plugin's active flag and settings.

    A value of None resets that setting to the plugin's default. Values are checked by
    the plugin class (unknown names and wrong types are INVALID). Secret values are
    stored but never written to the audit log.
    """
    require_permission(actor, PlatformPermission.MANAGE_PLUGINS, PluginErrorCode.PERMISSION_DENIED)
    klass = plugin_class(plugin_id)
    if klass is None:
        raise DomainError(PluginErrorCode.NOT_FOUND, f"No plugin {plugin_id!r} is configured.", field="id")
    pairs = list(configuration or [])
    names = [name for name, _ in pairs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DomainError(
            PluginErrorCode.INVALID, f"Setting given twice: {', '.join(duplicates)}.", field="configuration"
        )
    resets = [name for name, value in pairs if value is None]
    unknown = sorted(set(resets) - set(klass.CONFIG_STRUCTURE))
    if unknown:
        raise DomainError(
            PluginErrorCode.INVALID, f"{plugin_id} has no setting {', '.join(unknown)}.", field="configuration"
        )
    cleaned = klass.clean_configuration({name: value for name, value in pairs if value is not None})

    with transaction.atomic():
        row, _ = PluginConfiguration.objects.select_for_update().get_or_create(
            identifier=plugin_id, defaults={"active": klass.DEFAULT_ACTIVE, "configuration": {}}
        )
        was_active = row.active
        stored = dict(row.configuration or {})
        changed = []
        for name in resets:
            if name in stored:
                stored.pop(name)
                changed.append(name)
        for name, value in cleaned.items():
            if stored.get(name) != value:
                stored[name] = value
                changed.append(name)
        if active is not None:
            row.active = active
        row.configuration = stored
        row.save()
        secret = {name for name, spec in klass.CONFIG_STRUCTURE.items() if spec.type == ConfigType.SECRET}
        audit_log(
            actor=actor,
            action="plugin.update",
            target=row,
            plugin=plugin_id,
            active_before=was_active,
            active_after=row.active,
            changed=sorted(changed),
            # Secret settings are named as changed, their values never recorded.
            values={name: stored.get(name) for name in sorted(changed) if name not in secret},
        )
    return row
