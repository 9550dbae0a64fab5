"""Staff edit plugin settings here; saving goes through plugin_update (checked and audited)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission

from .base import ConfigType
from .manager import plugin_class, plugin_classes
from .models import PluginConfiguration
from .services import plugin_update

# Shown instead of a stored secret; submitting it unchanged keeps the secret.
SECRET_MASK = "********"


def _secret_names(plugin_id: str) -> set[str]:
    klass = plugin_class(plugin_id)
    if klass is None:
        return set()
    return {name for name, spec in klass.CONFIG_STRUCTURE.items() if spec.type == ConfigType.SECRET}


class PluginConfigurationForm(forms.ModelForm):
    identifier = forms.ChoiceField(help_text="A plugin listed in settings.PLUGINS.")
    configuration = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80}),
        help_text="Settings as a JSON object. Secrets show as ******** and stay unchanged unless replaced; "
        "remove a key to reset it to the default.",
    )

    class Meta:
        model = PluginConfiguration
        fields = ("identifier", "active", "configuration")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identifier"].choices = [
            (klass.PLUGIN_ID, f"{klass.PLUGIN_NAME or klass.PLUGIN_ID} ({klass.PLUGIN_ID})") for klass in plugin_classes()
        ]
        if self.instance.pk:
            self.fields["identifier"].disabled = True
            stored = dict(self.instance.configuration or {})
            for name in _secret_names(self.instance.identifier):
                if stored.get(name):
                    stored[name] = SECRET_MASK
            self.initial["configuration"] = stored

    def clean(self):
        cleaned = super().clean()
        identifier = cleaned.get("identifier") or self.instance.identifier
        submitted = cleaned.get("configuration") or {}
        if not isinstance(submitted, dict):
            raise forms.ValidationError({"configuration": "Give the settings as a JSON object."})
        stored = dict(self.instance.configuration or {}) if self.instance.pk else {}
        secrets = _secret_names(identifier)
        pairs = [
            (name, value)
            for name, value in submitted.items()
            if not (name in secrets and value == SECRET_MASK)
        ]
        pairs += [(name, None) for name in stored if name not in submitted]
        klass = plugin_class(identifier)
        if klass is not None:
            try:
                klass.clean_configuration({name: value for name, value in pairs if value is not None})
            except DomainError as error:
                raise forms.ValidationError({"configuration": error.message}) from error
        self.configuration_changes = pairs
        return cleaned


@admin.register(PluginConfiguration)
class PluginConfigurationAdmin(admin.ModelAdmin):
    form = PluginConfigurationForm
    list_display = ("identifier", "plugin_name", "active", "updated_at")
    list_filter = ("active",)
    search_fields = ("identifier",)

    @admin.display(description="Plugin")
    def plugin_name(self, obj: PluginConfiguration) -> str:
        klass = plugin_class(obj.identifier)
        return (klass.PLUGIN_NAME or klass.PLUGIN_ID) if klass else "(not in settings.PLUGINS)"

    def save_model(self, request, obj, form, change):
        row = plugin_update(
            actor=request.user,
            plugin_id=obj.identifier,
            active=obj.active,
            configuration=form.configuration_changes,
        )
        obj.pk = row.pk
        obj.configuration = row.configuration
        obj.updated_at = row.updated_at

    # Only staff holding MANAGE_PLUGINS may touch plugin settings, as in the API.
    def has_view_permission(self, request, obj=None):
        return has_permission(request.user, PlatformPermission.MANAGE_PLUGINS)

    def has_add_permission(self, request):
        return has_permission(request.user, PlatformPermission.MANAGE_PLUGINS)

    def has_change_permission(self, request, obj=None):
        return has_permission(request.user, PlatformPermission.MANAGE_PLUGINS)

    def has_delete_permission(self, request, obj=None):
        return has_permission(request.user, PlatformPermission.MANAGE_PLUGINS)

    def has_module_permission(self, request):
        return has_permission(request.user, PlatformPermission.MANAGE_PLUGINS)
