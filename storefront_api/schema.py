"""The storefront schema, assembled from each domain's Query and Mutation types."""

import logging
from decimal import Decimal

import strawberry
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry_django.optimizer import DjangoOptimizerExtension

from backend.core.query_cost import QueryLimitsExtension

from .account import AccountMutation, AccountQuery
from .campaigns import CampaignQuery
from .catalog import CatalogQuery
from .checkout import CheckoutMutation, CheckoutQuery
from .core import FiniteDecimal, StorefrontExecutionContext, direct_model_attributes, direct_resolvers, guard_arguments
from .disputes import DisputeMutation, DisputeQuery
from .members import MemberMutation
from .notifications import NotificationMutation, NotificationQuery
from .orders import OrderMutation, OrderQuery
from .promotions import PromotionMutation, PromotionQuery
from .reviews import ReviewMutation


@strawberry.type
class Query(AccountQuery, CampaignQuery, CatalogQuery, CheckoutQuery, DisputeQuery, NotificationQuery, OrderQuery, PromotionQuery):
    pass


@strawberry.type
class Mutation(
    AccountMutation,
    CheckoutMutation,
    DisputeMutation,
    MemberMutation,
    NotificationMutation,
    OrderMutation,
    PromotionMutation,
    ReviewMutation,
):
    pass


class QuerySetOptimizer(DjangoOptimizerExtension):
    """strawberry_django's optimizer for the querysets its own fields and connections build
    (they ask for it through its context variable, set for the execution), without its
    per-field resolve hook: that hook wraps every field of every response (graphql-core
    middleware) to catch resolvers returning unevaluated querysets, and no resolver here does
    (the query-count tests would show it)."""

    resolve = SchemaExtension.resolve


# Shoppers' apps send the same few documents over and over: parse and validate each once
# (the caches live at module level, shared by every request).
refusals_logger = logging.getLogger("storefront_api.refused")


class StorefrontSchema(strawberry.Schema):
    """Errors a caller caused (a refused query: limits, control characters, invalid documents) are
    logged at WARNING, one line, without a traceback; strawberry logs every error at ERROR, which
    would page operators for what attackers and broken clients send. Exceptions raised while
    executing (original_error set) keep strawberry's ERROR with the traceback."""

    def process_errors(self, errors, execution_context=None) -> None:
        for error in errors:
            if getattr(error, "original_error", None) is None:
                code = (error.extensions or {}).get("code", "GRAPHQL_ERROR")
                refusals_logger.warning("Refused query: %s: %s", code, error.message)
            else:
                super().process_errors([error], execution_context)


schema = StorefrontSchema(
    query=Query,
    mutation=Mutation,
    extensions=[
        QuerySetOptimizer,
        # Token, depth, alias and cost limits before parsing and validation; validation cached per document.
        lambda: QueryLimitsExtension(validation_cache_size=512),
        lambda: ParserCache(maxsize=512),
    ],
    scalar_overrides={Decimal: FiniteDecimal},
    # Control characters in any text input are refused before execution.
    execution_context_class=StorefrontExecutionContext,
)

# Malformed IDs and page arguments answer NOT_FOUND or a page, never raise (wrapped once, here).
guard_arguments(schema._schema, max_results=schema.config.relay_max_results)
# Plain columns and fetched to-one relations are read from the instance, not through strawberry's chain.
direct_model_attributes(schema._schema)
# Argument-less resolvers, relay IDs and plain attributes called directly (same values, no per-field chain).
direct_resolvers(schema._schema)
