from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView

from backend.graphql.core.views import authenticate_api_request

from .schema import schema


class StorefrontGraphQLView(GraphQLView):
    """The shopper API. Authentication is the bearer token only (see authenticate_api_request)."""

    @classmethod
    def as_view(cls, **initkwargs):
        initkwargs.setdefault("schema", schema)
        initkwargs.setdefault("graphql_ide", "graphiql" if settings.GRAPHIQL_ENABLED else None)
        initkwargs.setdefault("multipart_uploads_enabled", True)
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request, *args, **kwargs):
        failure = authenticate_api_request(request)
        if failure is not None:
            return failure
        return super().dispatch(request, *args, **kwargs)
