"""The CSV export behind a signed, short-lived link naming who asked (checked again here)."""

from urllib.parse import quote

from django.http import Http404, HttpResponse

from backend.accounts.models import User
from backend.core.exceptions import DomainError

from .selectors import analytics_report, report_csv, report_link_load


def report_download(request, token: str):
    link = report_link_load(token)
    user = User.objects.filter(pk=link["user_id"], is_active=True).first() if link else None
    if user is None:
        raise Http404("No such report, or the link has expired.")
    try:
        report = analytics_report(
            user=user, vendor_id=link["vendor_id"], date_from=link["date_from"], date_to=link["date_to"],
            period=link["period"],
        )
    except DomainError:
        raise Http404("No such report, or the link has expired.") from None
    response = HttpResponse(report_csv(report).encode(), content_type="text/csv; charset=utf-8")
    scope = f"store-{report.vendor_id}" if report.vendor_id else "platform"
    name = f"analytics-{scope}-{report.date_from:%Y%m%d}-{report.date_to:%Y%m%d}-{report.period}.csv"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
