import graphene
from django.urls import reverse
from graphene.relay import Node

from backend.analytics import selectors

from ..core.types import Money


class AnalyticsPeriodEnum(graphene.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    class Meta:
        name = "AnalyticsPeriod"


AnalyticsMetricEnum = graphene.Enum(
    "AnalyticsMetric", [(name.upper(), name) for name in selectors.METRICS], description="A figure to chart."
)


def _money_field(description):
    return graphene.Field(Money, required=True, description=description)


class AnalyticsFiguresType(graphene.ObjectType):
    date = graphene.Date(required=True, description="First day of the period (of the range, for totals).")
    visitors = graphene.Int(required=True, description="Distinct visitors per day, summed over the days.")
    product_views = graphene.Int(required=True)
    store_views = graphene.Int(required=True)
    searches = graphene.Int(required=True, description="Platform only.")
    searches_without_results = graphene.Int(required=True, description="Platform only.")
    add_to_carts = graphene.Int(required=True)
    checkouts_started = graphene.Int(required=True)
    ordering_visitors = graphene.Int(required=True, description="Visitors who placed an order.")
    conversion_rate = graphene.Decimal(description="Ordering visitors / visitors; null without visitors.")
    orders = graphene.Int(required=True, description="Orders placed and paid in the period.")
    gmv = _money_field("The goods of those orders (shipping excluded).")
    average_order_value = graphene.Field(Money, description="GMV / orders; null without orders.")
    refunds = graphene.Int(required=True, description="Orders refunded (in part or in full) in the period.")
    refunded = _money_field("Money refunded in the period.")
    refund_rate = graphene.Decimal(description="Refunds / orders.")
    disputes = graphene.Int(required=True, description="Disputes opened in the period.")
    dispute_rate = graphene.Decimal(description="Disputes / orders.")
    shoppers = graphene.Int(required=True)
    new_shoppers = graphene.Int(required=True, description="First paid order (at the store; platform: anywhere).")
    returning_shoppers = graphene.Int(required=True)
    repurchase_rate = graphene.Decimal(description="Returning shoppers / shoppers.")
    commission = _money_field("Commission the platform took (net of commission returned on refunds).")
    fees = _money_field("Entry fees net of rebates.")
    deposits_forfeited = _money_field("Deposit deductions paid to the platform.")
    platform_revenue = _money_field("Commission + fees + deposits forfeited: the platform ledger's net change.")
    take_rate = graphene.Decimal(description="Platform revenue / GMV.")
    new_stores = graphene.Int(required=True, description="Platform only.")
    active_stores = graphene.Int(required=True, description="Stores with a paid order (platform only).")

    class Meta:
        name = "AnalyticsFigures"


class AnalyticsPointType(graphene.ObjectType):
    date = graphene.Date(required=True)
    value = graphene.Decimal(description="Null where a rate has no base (no visitors, no orders).")

    class Meta:
        name = "AnalyticsPoint"
        description = "One point of a chart series."


class AnalyticsRankedType(graphene.ObjectType):
    id = graphene.ID(description="Global ID of the listing or category (null: uncategorised).")
    name = graphene.String(required=True)
    orders = graphene.Int(required=True)
    quantity = graphene.Int(required=True)
    gmv = _money_field("Goods sold.")

    class Meta:
        name = "AnalyticsRanked"


class AnalyticsSourceType(graphene.ObjectType):
    source = graphene.String(required=True, description="utm_source, the referrer's host, or direct.")
    visitors = graphene.Int(required=True)

    class Meta:
        name = "AnalyticsTrafficSource"


class AnalyticsTakeType(graphene.ObjectType):
    id = graphene.ID(description="Global ID of the category or store; null: fees of no category, or no store.")
    name = graphene.String(required=True)
    amount = _money_field("Platform revenue.")

    class Meta:
        name = "AnalyticsTake"


class AnalyticsSearchTermType(graphene.ObjectType):
    term = graphene.String(required=True)
    count = graphene.Int(required=True)

    class Meta:
        name = "AnalyticsSearchTerm"


class AnalyticsType(graphene.ObjectType):
    vendor_id = graphene.ID(description="The store's global ID; null: the whole platform.")
    date_from = graphene.Date(required=True, name="from")
    date_to = graphene.Date(required=True, name="to")
    period = AnalyticsPeriodEnum(required=True)
    totals = graphene.Field(AnalyticsFiguresType, required=True)
    periods = graphene.List(graphene.NonNull(AnalyticsFiguresType), required=True, description="One per period, empty ones too.")
    series = graphene.List(
        graphene.NonNull(AnalyticsPointType),
        required=True,
        metric=AnalyticsMetricEnum(required=True),
        description="One figure per period, ready for a chart.",
    )
    top_products = graphene.List(graphene.NonNull(AnalyticsRankedType), required=True, description="By GMV.")
    top_categories = graphene.List(graphene.NonNull(AnalyticsRankedType), required=True, description="By GMV.")
    traffic_sources = graphene.List(graphene.NonNull(AnalyticsSourceType), required=True)
    take_by_category = graphene.List(graphene.NonNull(AnalyticsTakeType), required=True, description="Platform only.")
    take_by_store = graphene.List(graphene.NonNull(AnalyticsTakeType), required=True, description="Platform only.")
    searches_without_results = graphene.List(
        graphene.NonNull(AnalyticsSearchTermType), required=True, description="Most frequent first (platform only)."
    )
    csv_url = graphene.String(required=True, description="Signed CSV download of the periods; expires within minutes.")

    class Meta:
        name = "Analytics"
        description = "A store's figures (or the platform's) over a date range, by day, week or month."

    @staticmethod
    def resolve_vendor_id(root, _info):
        return Node.to_global_id("Vendor", root.report.vendor_id) if root.report.vendor_id else None

    @staticmethod
    def resolve_date_from(root, _info):
        return root.report.date_from

    @staticmethod
    def resolve_date_to(root, _info):
        return root.report.date_to

    @staticmethod
    def resolve_period(root, _info):
        return root.report.period

    @staticmethod
    def resolve_totals(root, _info):
        return root.report.totals

    @staticmethod
    def resolve_periods(root, _info):
        return root.report.periods

    @staticmethod
    def resolve_series(root, _info, metric):
        metric = metric.value if hasattr(metric, "value") else metric
        return [AnalyticsPointType(date=day, value=value) for day, value in root.report.series(metric)]

    @staticmethod
    def resolve_top_products(root, _info):
        return [_ranked(item, "Product", {}, root.report.currency) for item in root.report.top_products]

    @staticmethod
    def resolve_top_categories(root, _info):
        return [_ranked(item, "Category", root.category_names, root.report.currency) for item in root.report.top_categories]

    @staticmethod
    def resolve_traffic_sources(root, _info):
        return [AnalyticsSourceType(source=s, visitors=n) for s, n in root.report.traffic_sources]

    @staticmethod
    def resolve_take_by_category(root, _info):
        return [
            AnalyticsTakeType(
                id=Node.to_global_id("Category", key) if key else None, name=root.category_names.get(key, ""), amount=amount
            )
            for key, amount in root.report.take_by_category
        ]

    @staticmethod
    def resolve_take_by_store(root, _info):
        return [
            AnalyticsTakeType(
                id=Node.to_global_id("Vendor", key) if key else None, name=root.vendor_names.get(key, ""), amount=amount
            )
            for key, amount in root.report.take_by_store
        ]

    @staticmethod
    def resolve_searches_without_results(root, _info):
        return [AnalyticsSearchTermType(term=t, count=n) for t, n in root.report.searches_without_results]

    @staticmethod
    def resolve_csv_url(root, info):
        report = root.report
        token = selectors.report_link_token(
            user=info.context.user, vendor_id=report.vendor_id, date_from=report.date_from, date_to=report.date_to,
            period=report.period,
        )
        return info.context.build_absolute_uri(reverse("analytics-report-download", args=[token]))


def _ranked(item, type_name, names, currency):
    from decimal import Decimal

    from backend.core.money import Money as MoneyValue, quantize

    return AnalyticsRankedType(
        id=Node.to_global_id(type_name, item["id"]) if item["id"] else None,
        name=item.get("name") or names.get(item["id"], ""),
        orders=item["orders"],
        quantity=item["quantity"],
        gmv=MoneyValue(quantize(Decimal(item["gmv"]), currency), currency),
    )
