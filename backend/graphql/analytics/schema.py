from types import SimpleNamespace

import graphene

from backend.analytics import selectors
from backend.catalog.models import Category
from backend.core.exceptions import DomainError
from backend.vendors.models import Vendor
from backend.vendors.selectors import vendor_id_of

from ..core.nodes import decode_id
from .types import AnalyticsPeriodEnum, AnalyticsType


class AnalyticsQueries(graphene.ObjectType):
    analytics = graphene.Field(
        AnalyticsType,
        vendor=graphene.ID(description="A store; omitted: the caller's own store, or the platform for staff."),
        date_from=graphene.Date(required=True, name="from"),
        date_to=graphene.Date(required=True, name="to"),
        period=AnalyticsPeriodEnum(default_value="day"),
        first=graphene.Int(default_value=10, description="How many top listings, categories and terms (at most 50)."),
        description=(
            "Traffic, conversion, orders, GMV, refunds, disputes, repurchase and take rate over a range, both days "
            "included, by day, week or month. A store's staff see their store; staff with MANAGE_FINANCE or the "
            "analytics permission see every store and the platform. Null when not permitted or the range is invalid."
        ),
    )

    @staticmethod
    def resolve_analytics(_root, info, date_from, date_to, vendor=None, period="day", first=10):
        user = info.context.user
        if vendor:
            try:
                vendor_id = int(decode_id(vendor, "Vendor", field="vendor"))
            except (DomainError, ValueError):
                return None
        else:
            vendor_id = None if selectors.can_see_all_analytics(user) else vendor_id_of(user)
            if vendor_id is None and not selectors.can_see_all_analytics(user):
                return None
        period = period.value if hasattr(period, "value") else period
        try:
            report = selectors.analytics_report(
                user=user, vendor_id=vendor_id, date_from=date_from, date_to=date_to, period=period,
                first=max(1, min(first, 50)),
            )
        except DomainError:
            return None
        category_ids = {item["id"] for item in report.top_categories if item["id"]}
        category_ids |= {key for key, _ in report.take_by_category if key}
        vendor_ids = {key for key, _ in report.take_by_store if key}
        category_names = dict(Category.objects.filter(pk__in=category_ids).values_list("pk", "name")) if category_ids else {}
        vendor_names = dict(Vendor.objects.filter(pk__in=vendor_ids).values_list("pk", "name")) if vendor_ids else {}
        return SimpleNamespace(report=report, category_names=category_names, vendor_names=vendor_names)
