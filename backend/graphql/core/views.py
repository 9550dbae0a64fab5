import json
from functools import lru_cache

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from graphene_file_upload.django import FileUploadGraphQLView
from graphql import ExecutionResult
from graphql.execution.middleware import MiddlewareManager

from backend.accounts.auth import authenticate_request
from backend.accounts.jwt import TokenError
from backend.core import query_cost
from backend.core.observability import format_graphql_error

from . import persisted_queries
from .csrf_prevention import RefuseCrossSiteRequests
from .execution import CoreExecutionContext
from .middleware import PaginationMiddleware


def token_error_response(error: TokenError) -> HttpResponse:
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
    return HttpResponse(json.dumps(body), status=401, content_type="application/json")


def authenticate_api_request(request) -> HttpResponse | None:
    """Put the bearer token's user on the request; a bad token ends the request with 401.

    Shared by both GraphQL views. Session cookies are not honoured, which is why
    the views may be exempt from CSRF checks.
    """
    try:
        request.user = authenticate_request(request)
    except TokenError as error:
        return token_error_response(error)
    request.dataloaders = {}
    return None


class BearerTokenView:
    """Mixed into both GraphQL views: the bearer token authenticates, or the request ends with 401.

    Session cookies are not honoured, so the views are exempt from CSRF checks.
    """

    @classmethod
    def as_view(cls, **initkwargs):
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request, *args, **kwargs):
        failure = authenticate_api_request(request)
        if failure is not None:
            return failure
        return super().dispatch(request, *args, **kwargs)


@lru_cache(maxsize=1)
def pagination_middleware() -> MiddlewareManager:
    # One manager for the process, so each resolver is wrapped once, not on every request.
    return MiddlewareManager(PaginationMiddleware())


class CoreGraphQLView(RefuseCrossSiteRequests, BearerTokenView, FileUploadGraphQLView):
    # The GraphiQL page both APIs share; its assets are served by the project (no CDN).
    graphiql_template = "graphql/graphiql.html"
    # Refuses control characters in any text input before execution (hostile_input.py).
    execution_context_class = CoreExecutionContext

    @staticmethod
    def format_error(error):
        # An exception escaping a resolver answers a generic coded error with the request id.
        return format_graphql_error(error, endpoint="core")

    def get_middleware(self, request):
        """Page arguments are normalized before any connection resolver (or other middleware) sees them."""
        if self.middleware:
            return [PaginationMiddleware(), *self.middleware]
        return pagination_middleware()

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        """Token limit before parsing; depth, alias and cost limits before the other validation
        rules and execution."""
        resolved = persisted_queries.resolve(query, self._extensions(request, data))
        if resolved.error is not None:
            return ExecutionResult(data=None, errors=[resolved.error])
        query = resolved.query
        refusal = query_cost.too_many_tokens(query)
        if refusal is not None:
            return ExecutionResult(data=None, errors=[refusal])
        self.validation_rules = [
            query_cost.limits_rule(
                variables=variables,
                operation_name=operation_name,
                rules=query_cost.validation_rules(),
                on_measure=lambda cost, limits: setattr(request, "query_cost", cost.as_extension(limits)),
            )
        ]
        return super().execute_graphql_request(request, data, query, variables, operation_name, show_graphiql)

    @staticmethod
    def _extensions(request, data):
        """The request's extensions: a JSON object in the body, or a JSON string in a GET's query string."""
        extensions = request.GET.get("extensions") or (data.get("extensions") if isinstance(data, dict) else None)
        if isinstance(extensions, str):
            try:
                extensions = json.loads(extensions)
            except ValueError:
                return None
        return extensions if isinstance(extensions, dict) else None

    def get_response(self, request, data, show_graphiql=False):
        result, status_code = super().get_response(request, data, show_graphiql)
        cost = getattr(request, "query_cost", None)
        if result is not None and cost is not None and query_cost.cost_requested(request, data.get("extensions")):
            body = json.loads(result)
            body.setdefault("extensions", {})["cost"] = cost
            result = self.json_encode(request, body, pretty=show_graphiql)
        return result, status_code
