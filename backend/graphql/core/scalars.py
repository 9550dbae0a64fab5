"""Scalars of the core API."""

from __future__ import annotations

import graphene
from graphql import value_from_ast_untyped


class Upload(graphene.Scalar):
    """A file of a multipart request (the GraphQL multipart request spec).

    Only a file that the request maps into the variables is one. Anything else given for it (text
    inline in the query or in the variables) is passed on as it is, and the upload checks refuse it
    as UNSUPPORTED_FILE_TYPE in the payload's errors, as the storefront's Upload does.
    graphene-file-upload's scalar handed inline values to the resolver as AST nodes, and raised
    when the operation also had variables (its parse_literal took no `variables` argument).
    """

    class Meta:
        name = "Upload"
        # The published description stays graphene-file-upload's.
        description = (
            "Create scalar that ignores normal serialization/deserialization, since\n"
            "that will be handled by the multipart request spec"
        )

    @staticmethod
    def serialize(value):
        return value

    @staticmethod
    def parse_literal(node, _variables=None):
        return value_from_ast_untyped(node, _variables)

    @staticmethod
    def parse_value(value):
        return value
