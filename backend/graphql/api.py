"""The core API schema, assembled from each domain's queries and mutations."""

import graphene

from .account.schema import AccountMutations, AccountQueries
from .analytics.schema import AnalyticsQueries
from .campaigns.schema import CampaignMutations, CampaignQueries
from .catalog.schema import CatalogMutations, CatalogQueries
from .core.nodes import NodeField
from .disputes.schema import DisputeMutations, DisputeQueries
from .finance.mutations import FinanceMutations
from .finance.schema import FinanceQueries
from .logistics.schema import LogisticsMutations, LogisticsQueries
from .members.schema import MemberMutations, MemberQueries
from .notifications.schema import NotificationMutations, NotificationQueries
from .orders.schema import OrderMutations, OrderQueries
from .payments.schema import PaymentQueries
from .plugins.schema import PluginMutations, PluginQueries
from .promotions.schema import PromotionMutations, PromotionQueries
from .vendor.schema import VendorMutations, VendorQueries


class Query(
    AccountQueries,
    AnalyticsQueries,
    CampaignQueries,
    CatalogQueries,
    DisputeQueries,
    FinanceQueries,
    LogisticsQueries,
    MemberQueries,
    NotificationQueries,
    OrderQueries,
    PaymentQueries,
    PluginQueries,
    PromotionQueries,
    VendorQueries,
    graphene.ObjectType,
):
    node = NodeField(graphene.relay.Node)


class Mutation(
    AccountMutations,
    CampaignMutations,
    CatalogMutations,
    FinanceMutations,
    DisputeMutations,
    LogisticsMutations,
    MemberMutations,
    NotificationMutations,
    OrderMutations,
    PluginMutations,
    PromotionMutations,
    VendorMutations,
    graphene.ObjectType,
):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
