import dataclasses

from cross_web import HTTPException
from django.conf import settings
from strawberry.django.views import GraphQLView
from strawberry.types import ExecutionResult

from backend.core.observability import graphql_result_payload
from backend.graphql.core import persisted_queries
from backend.graphql.core.csrf_prevention import RefuseCrossSiteRequests
from backend.graphql.core.views import BearerTokenView

from .schema import schema


class StorefrontGraphQLView(RefuseCrossSiteRequests, BearerTokenView, GraphQLView):
    """The shopper API. Authentication is the bearer token only (see BearerTokenView)."""

    @classmethod
    def as_view(cls, **initkwargs):
        initkwargs.setdefault("schema", schema)
        initkwargs.setdefault("graphql_ide", "graphiql" if settings.GRAPHIQL_ENABLED else None)
        initkwargs.setdefault("multipart_uploads_enabled", True)
        return super().as_view(**initkwargs)

    def process_result(self, request, result):
        # An exception escaping a resolver answers a generic coded error with the request id.
        return graphql_result_payload(result, endpoint="storefront")

    def parse_http_body(self, request):
        """A body that is not UTF-8 answers 400, as the core API does (strawberry raised, a 500)."""
        try:
            return super().parse_http_body(request)
        except UnicodeDecodeError as error:
            raise HTTPException(400, "Unable to parse request body as UTF-8 JSON") from error

    def execute_single(self, *, request, request_adapter, sub_response, context, root_value, request_data):
        """Automatic persisted queries (persisted_queries.py) before anything else of the operation."""
        resolved = persisted_queries.resolve(request_data.query, request_data.extensions)
        if resolved.error is not None:
            return ExecutionResult(data=None, errors=[resolved.error])
        if resolved.query is not request_data.query:
            request_data = dataclasses.replace(request_data, query=resolved.query)
        return super().execute_single(
            request=request, request_adapter=request_adapter, sub_response=sub_response, context=context,
            root_value=root_value, request_data=request_data,
        )
