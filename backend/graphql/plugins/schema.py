import graphene

from plugins.manager import get_plugins_manager
from plugins.selectors import visible_plugins

from .mutations import PluginUpdate
from .types import Plugin


class PluginQueries(graphene.ObjectType):
    plugins = graphene.List(
        graphene.NonNull(Plugin),
        required=True,
        description="Configured plugins in the order they run (MANAGE_PLUGINS; empty for others).",
    )
    plugin = graphene.Field(Plugin, id=graphene.ID(required=True), description="One plugin (MANAGE_PLUGINS).")

    @staticmethod
    def resolve_plugins(_root, info):
        return visible_plugins(info.context.user, get_plugins_manager(info.context))

    @staticmethod
    def resolve_plugin(_root, info, id):
        for plugin in visible_plugins(info.context.user, get_plugins_manager(info.context)):
            if plugin.PLUGIN_ID == id:
                return plugin
        return None


class PluginMutations(graphene.ObjectType):
    plugin_update = PluginUpdate.Field()
