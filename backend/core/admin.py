from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .audit import audit_trail
from .money import minor_exponent, quantize
from .models import AuditLogEntry
from .permissions import has_permission


EMPTY = "—"


def money_text(amount, currency: str | None) -> str:
    """An amount as staff read it: its currency's minor units (55.80 CNY, not 55.8000), thousands grouped."""
    if amount is None:
        return EMPTY
    currency = currency or settings.DEFAULT_CURRENCY
    value = quantize(Decimal(amount), currency)
    return f"{value:,.{minor_exponent(currency)}f} {currency}"


def money_column(amount_field: str, currency_field: str = "currency", description: str | None = None):
    """A list or read-only column showing `amount_field` with the currency held in `currency_field`.

        list_display = ("id", money_column("total_amount", description="total"), "status")
    """

    def show(obj):
        currency = getattr(obj, currency_field, None) if currency_field else None
        return money_text(getattr(obj, amount_field), currency)

    label = description or amount_field.removesuffix("_amount").replace("_", " ")
    show.__name__ = f"{amount_field}_money"
    return admin.display(description=label, ordering=amount_field)(show)


def dash(value) -> str:
    """None and empty values shown as a dash, never as "None"."""
    return EMPTY if value in (None, "") else str(value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services write (ledger, payments, decisions): the admin shows them.

    Staff act through admin actions that call the services, where the rules live.
    With `view_permission` set, only staff holding it see the model at all.
    """

    view_permission = None
    # Amount field -> the field holding its currency: shown on the object's page in the currency's
    # precision ("55.80 CNY") instead of the raw stored decimal ("55.8000").
    money_fields: dict[str, str | None] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field, currency_field in self.money_fields.items():
            setattr(self, f"{field}_money", money_column(field, currency_field))

    def get_fields(self, request, obj=None):
        shown = [f"{name}_money" if name in self.money_fields else name for name in super().get_fields(request, obj)]
        return list(dict.fromkeys(shown))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(f"{name}_money" for name in self.money_fields)]

    def get_fieldsets(self, request, obj=None):
        def shown(names):
            return [shown(n) if isinstance(n, (list, tuple)) else (f"{n}_money" if n in self.money_fields else n)
                    for n in names]

        return [(title, {**options, "fields": shown(options.get("fields", ()))})
                for title, options in super().get_fieldsets(request, obj)]

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
