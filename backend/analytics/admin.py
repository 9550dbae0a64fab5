"""The staff analytics page: the platform's (or a store's) figures over a range, with charts.

Charts are drawn by Chart.js, served from this app's static files (no CDN); the page's data is
embedded as JSON (json_script) and read by static/analytics/admin_charts.js, so the CSP's
script-src 'self' holds.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.admin import ReadOnlyAdmin
from backend.core.exceptions import DomainError
from backend.finance.points_report import points_cost_total
from backend.vendors.models import Vendor

from . import selectors
from .models import DailyMetrics

CHARTED = ("visitors", "orders", "gmv", "conversion_rate", "average_order_value", "platform_revenue", "take_rate",
           "refund_rate", "repurchase_rate")


class RangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(label=_("Period"), choices=[(p, p) for p in selectors.PERIODS], initial="day")
    vendor = forms.ModelChoiceField(
        label=_("Store"), queryset=Vendor.objects.order_by("name"), required=False, empty_label=_("The platform")
    )


def _number(value):
    if value is None:
        return None
    amount = getattr(value, "amount", value)
    return float(amount)  # display only: Chart.js plots numbers; the figures stay Decimal


@admin.register(DailyMetrics)
class DailyMetricsAdmin(ReadOnlyAdmin):
    list_display = ("day", "vendor", "visitors", "orders", "gmv", "commission", "fees")

    def has_view_permission(self, request, obj=None):
        return selectors.can_see_all_analytics(request.user)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        initial = {"date_from": today - timedelta(days=29), "date_to": today, "period": "day"}
        form = RangeForm(request.GET or None, initial=initial)
        values = form.cleaned_data if form.is_bound and form.is_valid() else initial
        report, error = None, ""
        try:
            report = selectors.analytics_report(
                user=request.user,
                vendor_id=values.get("vendor").pk if values.get("vendor") else None,
                date_from=values["date_from"],
                date_to=values["date_to"],
                period=values["period"],
            )
        except DomainError as failure:
            error = failure.message
        charts = {}
        if report is not None:
            charts = {
                "labels": [bucket.date.isoformat() for bucket in report.periods],
                "series": {metric: [_number(bucket.value(metric)) for bucket in report.periods] for metric in CHARTED},
                "sources": [[source, visitors] for source, visitors in report.traffic_sources[:8]],
            }
        csv_url = ""
        if report is not None:
            token = selectors.report_link_token(
                user=request.user, vendor_id=report.vendor_id, date_from=report.date_from, date_to=report.date_to,
                period=report.period,
            )
            csv_url = reverse("analytics-report-download", args=[token])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Analytics"),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "error": error,
            "charts": charts,
            "csv_url": csv_url,
            "totals": _totals(report) if report else [],
        }
        return TemplateResponse(request, "admin/analytics/dashboard.html", context)


def _totals(report) -> list[tuple[str, object]]:
    totals = report.totals
    shown = [
        (_("Visitors"), totals.visitors), (_("Orders"), totals.orders), (_("GMV"), totals.gmv),
        (_("Conversion rate"), totals.conversion_rate), (_("Average order value"), totals.average_order_value),
        (_("Refund rate"), totals.refund_rate), (_("Dispute rate"), totals.dispute_rate),
        (_("Repurchase rate"), totals.repurchase_rate), (_("New shoppers"), totals.new_shoppers),
        (_("Returning shoppers"), totals.returning_shoppers), (_("Commission"), totals.commission),
        (_("Fees"), totals.fees), (_("Deposits forfeited"), totals.deposits_forfeited),
        (_("Platform revenue"), totals.platform_revenue), (_("Take rate"), totals.take_rate),
        (_("Searches without results"), totals.searches_without_results), (_("New stores"), totals.new_stores),
        (_("Active stores"), totals.active_stores),
    ]
    if report.vendor_id is None:
        # What members' points cost the platform over the range (finance's points report), beside
        # its revenue; the take rate stays revenue / GMV.
        cost = points_cost_total(report.date_from, report.date_to)
        at = next(i for i, (label, _value) in enumerate(shown) if label == _("Take rate")) + 1
        shown[at:at] = [
            (_("Points cost"), cost),
            (_("Platform revenue less points cost"), totals.platform_revenue - cost),
        ]
    return shown


