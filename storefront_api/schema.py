"""The storefront schema, assembled from each domain's Query and Mutation types."""

import strawberry
from strawberry_django.optimizer import DjangoOptimizerExtension

from .account import AccountMutation, AccountQuery


@strawberry.type
class Query(AccountQuery):
    pass


@strawberry.type
class Mutation(AccountMutation):
    pass


schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[DjangoOptimizerExtension])
