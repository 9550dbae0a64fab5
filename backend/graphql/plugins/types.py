import graphene

from plugins.base import ConfigType
from plugins.error_codes import PluginErrorCode
from plugins.selectors import plugin_configuration_items

from ..core.types import error_type

PluginError = error_type("PluginError", PluginErrorCode)

PluginConfigurationTypeEnum = graphene.Enum(
    "PluginConfigurationType",
    [(value.upper(), value) for name, value in vars(ConfigType).items() if name.isupper()],
)


class PluginConfigurationItem(graphene.ObjectType):
    name = graphene.String(required=True)
    value = graphene.String(
        description="The setting as text (JSON settings as JSON); always null for secrets."
    )
    type = PluginConfigurationTypeEnum(required=True)
    help_text = graphene.String(required=True)
    is_set = graphene.Boolean(required=True, description="Whether the setting has a value (secrets included).")

    class Meta:
        description = "One setting of a plugin."


class Plugin(graphene.ObjectType):
    id = graphene.ID(required=True, description="The plugin's identifier (PLUGIN_ID).")
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    active = graphene.Boolean(required=True)
    configuration = graphene.List(graphene.NonNull(PluginConfigurationItem), required=True)

    class Meta:
        description = "A plugin listed in settings.PLUGINS, with staff's settings."

    @staticmethod
    def resolve_id(root, _info):
        return root.PLUGIN_ID

    @staticmethod
    def resolve_name(root, _info):
        return root.PLUGIN_NAME or root.PLUGIN_ID

    @staticmethod
    def resolve_description(root, _info):
        return root.DESCRIPTION

    @staticmethod
    def resolve_active(root, _info):
        return root.active

    @staticmethod
    def resolve_configuration(root, _info):
        return plugin_configuration_items(root)
