import json

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from backend.core.audit import audit_trail
from backend.core.models import AuditLogEntry
from backend.core.permissions import PlatformPermission
from backend.vendors.models import Vendor, VendorStaff
from plugins.manager import PluginsManager, forget_plugins_manager, get_plugins_manager
from plugins.models import PluginConfiguration

from ..graphql_client import error_codes
from .sample_plugins import SAMPLE_PLUGINS

pytestmark = pytest.mark.django_db

PLUGINS = """
{ plugins { id name description active configuration { name value type helpText isSet } } }
"""
PLUGIN_UPDATE = """
mutation($id: ID!, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, input: $input) {
    plugin { id active configuration { name value type isSet } }
    errors { field code message }
  }
}"""
SECRET = "sk_live_do-not-show-me-0123456789"


@pytest.fixture(autouse=True)
def sample_plugins(settings):
    settings.PLUGINS = list(SAMPLE_PLUGINS)


@pytest.fixture
def plugin_admin(staff_factory):
    return staff_factory(PlatformPermission.MANAGE_PLUGINS)


def merchant(user_factory):
    user = user_factory()
    vendor = Vendor.objects.create(name="Tea House", slug="tea-house", company_name="Tea Ltd", contact_email="t@example.com")
    VendorStaff.objects.create(vendor=vendor, user=user, role="owner")
    return user


def settings_of(plugin: dict) -> dict:
    return {item["name"]: item for item in plugin["configuration"]}


# --- The manager -------------------------------------------------------------------


def test_hooks_run_active_plugins_in_configured_order(settings):
    assert PluginsManager().run_hook("append_mark", [], "!") == ["a!", "b!"]
    settings.PLUGINS = list(reversed(SAMPLE_PLUGINS))
    assert PluginsManager().run_hook("append_mark", []) == ["b", "a"]


def test_run_plugin_hook_calls_one_plugin_only():
    manager = PluginsManager()
    assert manager.run_plugin_hook("tests.second", "append_mark", ["start"]) == ["start", "b"]
    # An inactive or unknown plugin is not called; the default comes back.
    assert manager.run_plugin_hook("tests.inactive", "append_mark", ["start"]) == ["start"]
    assert manager.run_plugin_hook("tests.unknown", "append_mark", ["start"]) == ["start"]
    # A plugin answering NotImplemented leaves the default.
    assert manager.run_plugin_hook("tests.silent", "append_mark", ["start"]) == ["start"]


def test_database_rows_override_defaults_and_active_flags():
    PluginConfiguration.objects.create(identifier="tests.first", active=True, configuration={"mark": "A"})
    PluginConfiguration.objects.create(identifier="tests.second", active=False)
    PluginConfiguration.objects.create(identifier="tests.inactive", active=True, configuration={})
    manager = PluginsManager()
    assert manager.run_hook("append_mark", []) == ["A", "z"]
    first = manager.get_plugin("tests.first")
    # Settings without a row value keep their defaults.
    assert first.get("retries") == 3 and first.get("mark") == "A"
    assert manager.get_plugin("tests.second") is None
    assert manager.get_plugin("tests.second", active_only=False).active is False


def test_manager_is_built_once_per_request():
    request = RequestFactory().get("/")
    with CaptureQueriesContext(connection) as queries:
        first = get_plugins_manager(request)
        assert get_plugins_manager(request) is first
    assert len(queries) == 1
    forget_plugins_manager(request)
    assert get_plugins_manager(request) is not first
    assert get_plugins_manager() is not get_plugins_manager()


# --- plugins query -----------------------------------------------------------------


def test_plugins_query_lists_settings_and_hides_secrets(core_api, plugin_admin):
    PluginConfiguration.objects.create(
        identifier="tests.first", active=True, configuration={"api_key": SECRET, "retries": 5}
    )
    response = core_api.login(plugin_admin).raw(PLUGINS)
    assert SECRET not in response.content.decode()
    plugins = response.json()["data"]["plugins"]
    assert [p["id"] for p in plugins] == ["tests.first", "tests.silent", "tests.inactive", "tests.second"]
    assert [p["active"] for p in plugins] == [True, True, False, True]
    first = settings_of(plugins[0])
    assert plugins[0]["name"] == "First test plugin" and plugins[0]["description"] == "Appends its mark."
    assert first["api_key"] == {
        "name": "api_key", "value": None, "type": "SECRET", "helpText": "A secret that must never be shown.", "isSet": True
    }
    assert first["retries"]["value"] == "5" and first["retries"]["type"] == "INTEGER"
    assert first["sandbox"]["value"] == "true"
    assert json.loads(first["rules"]["value"]) == {"level": 1}
    assert settings_of(plugins[3])["mark"]["value"] == "b"


def test_plugins_query_reads_configuration_once(core_api, plugin_admin):
    query = '{ plugins { id active } plugin(id: "tests.second") { id active } }'
    core_api.login(plugin_admin)
    with CaptureQueriesContext(connection) as queries:
        data = core_api.execute(query)
    assert data["plugin"] == {"id": "tests.second", "active": True}
    assert len([q for q in queries if "plugins_pluginconfiguration" in q["sql"]]) == 1


def test_plugins_query_is_empty_without_manage_plugins(core_api, user_factory, staff_factory):
    for user in (None, user_factory(), merchant(user_factory), staff_factory(PlatformPermission.MANAGE_VENDORS)):
        api = core_api.logout() if user is None else core_api.login(user)
        assert api.execute('{ plugins { id } plugin(id: "tests.first") { id } }') == {"plugins": [], "plugin": None}


# --- pluginUpdate ------------------------------------------------------------------


def test_plugin_update_changes_settings_and_audits_without_secrets(core_api, plugin_admin):
    payload = core_api.login(plugin_admin).mutate(
        PLUGIN_UPDATE,
        {
            "id": "tests.first",
            "input": {
                "active": False,
                "configuration": [
                    {"name": "api_key", "value": SECRET},
                    {"name": "retries", "value": "7"},
                    {"name": "sandbox", "value": "false"},
                    {"name": "rules", "value": '{"level": 2}'},
                    {"name": "fee", "value": "2.25"},
                ],
            },
        },
    )
    assert payload["errors"] == []
    assert SECRET not in json.dumps(payload)
    assert payload["plugin"]["active"] is False
    shown = settings_of(payload["plugin"])
    assert shown["api_key"]["value"] is None and shown["api_key"]["isSet"] is True
    assert shown["retries"]["value"] == "7"

    row = PluginConfiguration.objects.get(identifier="tests.first")
    assert row.active is False
    assert row.configuration == {
        "api_key": SECRET, "retries": 7, "sandbox": False, "rules": {"level": 2}, "fee": "2.25"
    }
    manager = PluginsManager()
    assert manager.run_hook("append_mark", []) == ["b"]

    (entry,) = audit_trail(row)
    assert entry.action == "plugin.update" and entry.actor == plugin_admin
    assert entry.data["active_before"] is True and entry.data["active_after"] is False
    assert entry.data["changed"] == ["api_key", "fee", "retries", "rules", "sandbox"]
    assert "api_key" not in entry.data["values"] and entry.data["values"]["retries"] == 7
    assert SECRET not in json.dumps(entry.data)


def test_plugin_update_null_resets_a_setting_to_its_default(core_api, plugin_admin):
    PluginConfiguration.objects.create(identifier="tests.second", active=True, configuration={"mark": "B"})
    payload = core_api.login(plugin_admin).mutate(
        PLUGIN_UPDATE, {"id": "tests.second", "input": {"configuration": [{"name": "mark", "value": None}]}}
    )
    assert payload["errors"] == []
    assert settings_of(payload["plugin"])["mark"]["value"] == "b"
    assert PluginConfiguration.objects.get(identifier="tests.second").configuration == {}


@pytest.mark.parametrize(
    "configuration",
    [
        [{"name": "colour", "value": "red"}],
        [{"name": "retries", "value": "many"}],
        [{"name": "retries", "value": "true"}],
        [{"name": "sandbox", "value": "maybe"}],
        [{"name": "rules", "value": "{not json"}],
        [{"name": "fee", "value": "1,5"}],
        [{"name": "mode", "value": "sideways"}],
        [{"name": "colour", "value": None}],
        [{"name": "retries", "value": "1"}, {"name": "retries", "value": "2"}],
        [{"name": "retries", "value": "1"}, {"name": "colour", "value": "red"}],
    ],
    ids=["unknown", "integer", "bool-as-integer", "boolean", "json", "decimal", "choice", "unknown-reset", "twice", "one-bad"],
)
def test_plugin_update_rejects_bad_values_and_changes_nothing(core_api, plugin_admin, configuration):
    payload = core_api.login(plugin_admin).mutate(
        PLUGIN_UPDATE, {"id": "tests.first", "input": {"active": False, "configuration": configuration}}
    )
    assert error_codes(payload) == ["INVALID"]
    assert payload["errors"][0]["field"] == "configuration"
    assert payload["plugin"] is None
    assert not PluginConfiguration.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_plugin_update_of_unconfigured_plugin_is_not_found(core_api, plugin_admin, settings):
    settings.PLUGINS = ["tests.plugins.sample_plugins.SecondPlugin"]
    payload = core_api.login(plugin_admin).mutate(PLUGIN_UPDATE, {"id": "tests.first", "input": {"active": True}})
    assert error_codes(payload) == ["NOT_FOUND"] and payload["errors"][0]["field"] == "id"
    assert not PluginConfiguration.objects.exists()


def test_plugin_update_needs_manage_plugins(core_api, user_factory, staff_factory):
    variables = {"id": "tests.first", "input": {"active": False, "configuration": [{"name": "mark", "value": "x"}]}}
    callers = [None, user_factory(), merchant(user_factory), staff_factory(PlatformPermission.MANAGE_VENDORS, PlatformPermission.MANAGE_STAFF)]
    for user in callers:
        api = core_api.logout() if user is None else core_api.login(user)
        payload = api.mutate(PLUGIN_UPDATE, variables)
        assert error_codes(payload) == ["PERMISSION_DENIED"], user
    assert not PluginConfiguration.objects.exists()
    assert PluginsManager().run_hook("append_mark", []) == ["a", "b"]


# --- Admin -------------------------------------------------------------------------


def test_admin_edits_settings_without_showing_secrets(client, superuser, staff_factory):
    row = PluginConfiguration.objects.create(
        identifier="tests.first", active=True, configuration={"api_key": SECRET, "mark": "A"}
    )
    client.force_login(superuser)
    url = f"/admin/plugins/pluginconfiguration/{row.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert SECRET not in page.content.decode() and "********" in page.content.decode()
    assert "tests.first" in client.get("/admin/plugins/pluginconfiguration/").content.decode()

    # The masked secret comes back unchanged and is kept; "mark" is changed.
    response = client.post(url, {"identifier": "tests.first", "configuration": json.dumps({"api_key": "********", "mark": "M", "retries": 4})})
    assert response.status_code == 302, response.content.decode()[:3000]
    row.refresh_from_db()
    assert row.configuration == {"api_key": SECRET, "mark": "M", "retries": 4}
    assert row.active is False  # the unticked checkbox switched it off
    (entry,) = audit_trail(row)
    assert entry.data["changed"] == ["mark", "retries"] and SECRET not in json.dumps(entry.data)

    bad = client.post(url, {"identifier": "tests.first", "active": "on", "configuration": json.dumps({"retries": "x"})})
    assert bad.status_code == 200 and "not a valid integer" in bad.content.decode()
    row.refresh_from_db()
    assert row.configuration["retries"] == 4

    client.force_login(staff_factory(PlatformPermission.MANAGE_VENDORS))
    assert client.get(url).status_code in (302, 403)


def test_admin_adds_a_row_for_a_configured_plugin(client, superuser):
    client.force_login(superuser)
    response = client.post(
        "/admin/plugins/pluginconfiguration/add/",
        {"identifier": "tests.inactive", "active": "on", "configuration": json.dumps({"mark": "Z"})},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert PluginsManager().run_hook("append_mark", []) == ["a", "Z", "b"]
