"""The core API schema, assembled from each domain's queries and mutations."""

import graphene

from .account.schema import AccountMutations, AccountQueries


class Query(AccountQueries, graphene.ObjectType):
    node = graphene.relay.Node.Field()


class Mutation(AccountMutations, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
