from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .audit import audit_trail
from .models import AuditLogEntry
from .permissions import has_permission


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services write (ledger, payments, decisions): the admin shows them.

    Staff act through admin actions that call the services, where the rules live.
    With `view_permission` set, only staff holding it see the model at all.
    """

    view_permission = None

    def has_view_permission(self, request, obj=None):
        if self.view_permission is None:
            return super().has_view_permission(request, obj)
        return has_permission(request.user, self.view_permission)

    def has_module_permission(self, request):
        if self.view_permission is None:
            return super().has_module_permission(request)
        return self.has_view_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def render_audit_trail(obj) -> str:
    """An object's audit trail as a table for its admin page, oldest first."""
    entries = list(audit_trail(obj).order_by("created_at", "id"))
    if not entries:
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (f"{e.created_at:%Y-%m-%d %H:%M}", e.actor.email if e.actor else "system", e.action, e.reason)
            for e in entries
        ),
    )
    return format_html(
        "<table><thead><tr><th>When</th><th>Who</th><th>What</th><th>Why</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "target_type", "target_id", "reason")
    list_filter = ("action", "target_type")
    search_fields = ("action", "reason", "target_id", "actor__email")
    date_hierarchy = "created_at"
