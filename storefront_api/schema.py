"""The storefront schema, assembled from each domain's Query and Mutation types."""

import strawberry
from strawberry_django.optimizer import DjangoOptimizerExtension

from .account import AccountMutation, AccountQuery
from .catalog import CatalogQuery


@strawberry.type
class Query(AccountQuery, CatalogQuery):
    pass


@strawberry.type
class Mutation(AccountMutation):
    pass


schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[DjangoOptimizerExtension])
