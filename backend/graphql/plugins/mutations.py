import graphene

from backend.core.permissions import PlatformPermission
from plugins import services
from plugins.manager import forget_plugins_manager, get_plugins_manager

from ..core.mutations import BaseMutation
from .types import Plugin, PluginError


class PluginConfigurationInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    value = graphene.String(description="New value as text; null resets the setting to its default.")


class PluginUpdateInput(graphene.InputObjectType):
    active = graphene.Boolean()
    configuration = graphene.List(graphene.NonNull(PluginConfigurationInput))


class PluginUpdate(BaseMutation):
    plugin = graphene.Field(Plugin)

    class Arguments:
        id = graphene.ID(required=True, description="The plugin's identifier.")
        input = PluginUpdateInput(required=True)

    class Meta:
        description = "Switch a plugin on or off and change its settings (MANAGE_PLUGINS)."
        error_type_class = PluginError
        permission = PlatformPermission.MANAGE_PLUGINS

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        services.plugin_update(
            actor=info.context.user,
            plugin_id=id,
            active=input.get("active"),
            configuration=[(item.name, item.get("value")) for item in input.get("configuration") or []],
        )
        forget_plugins_manager(info.context)
        return cls(plugin=get_plugins_manager(info.context).get_plugin(id, active_only=False), errors=[])
