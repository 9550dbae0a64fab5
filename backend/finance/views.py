"""Statement downloads (CSV, PDF) behind signed, short-lived links.

The link is handed out only through the API to those who may see the vendor's
money, and names who asked: the view checks that person may still see it.
"""

from urllib.parse import quote

from django.http import Http404, HttpResponse

from backend.accounts.models import User

from backend.vendors.models import Vendor

from .selectors import can_see_vendor_finance
from .statements import statement_csv, statement_link_load, statement_pdf, vendor_statement

FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def statement_download(request, token: str, fmt: str):
    link = statement_link_load(token)
    if link is None or fmt not in FORMATS:
        raise Http404("No such statement, or the link has expired.")
    user = User.objects.filter(pk=link["user_id"], is_active=True).first()
    vendor = Vendor.objects.filter(pk=link["vendor_id"]).first()
    if user is None or vendor is None or not can_see_vendor_finance(user, vendor.pk):
        raise Http404("No such statement, or the link has expired.")
    statement = vendor_statement(vendor, link["date_from"], link["date_to"])
    body = statement_csv(statement).encode() if fmt == "csv" else statement_pdf(statement)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    name = f"statement-{vendor.slug}-{statement.date_from:%Y%m%d}-{statement.date_to:%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
