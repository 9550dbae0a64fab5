"""Every ```graphql block of README.md parses and validates against the schema of its endpoint."""

from __future__ import annotations

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from .readme import ENDPOINTS, blocks, parse_marker


def graphql_schemas():
    from backend.graphql.api import schema as core_schema
    from storefront_api.schema import schema as storefront_schema

    return {"core": core_schema.graphql_schema, "storefront": storefront_schema._schema}


def problems_of(block, schemas) -> list[str]:
    where = block.where()
    if block.marker is None:
        return [f"{where}: no `<!-- endpoint: core -->` or `<!-- endpoint: storefront -->` line before the fence"]
    if block.endpoint not in ENDPOINTS:
        return [f"{where}: unknown endpoint {block.endpoint!r} (core or storefront)"]
    try:
        document = parse(block.text)
    except GraphQLError as exc:
        return [f"{where}: does not parse: {exc.message}"]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    found = []
    if len(operations) != 1:
        found.append(f"{where}: {len(operations)} operations in one block (one named operation per block)")
    found += [f"{where}: operation without a name" for op in operations if op.name is None]
    found += [f"{where}: {error.message}" for error in validate(schemas[block.endpoint], document)]
    return found


def test_every_readme_graphql_block_validates_against_its_endpoint():
    schemas = graphql_schemas()
    found = [problem for block in blocks() for problem in problems_of(block, schemas)]
    assert blocks(), "README.md holds no ```graphql block"
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("```graphql\nquery A { me { email } }\n```", "no `<!-- endpoint"),
        ("<!-- endpoint: core -->\n```graphql\n{ me { email } }\n```", "operation without a name"),
        ("<!-- endpoint: core -->\n```graphql\nquery A { me { email } }\nquery B { me { id } }\n```", "2 operations"),
        ("<!-- endpoint: storefront -->\n```graphql\nquery P { product(slug: \"x\") { rating } }\n```", "subfields"),
        ("<!-- endpoint: shop -->\n```graphql\nquery A { me { email } }\n```", "unknown endpoint"),
    ],
)
def test_a_bad_block_is_reported_with_its_line(text, expected):
    """The checker itself: each kind of fault is found and named with the fence's line number."""
    readme = "intro\n\n" + text
    fence_line = readme.splitlines().index("```graphql") + 1
    [block] = blocks(readme)
    [problem] = problems_of(block, graphql_schemas())
    assert problem.startswith(f"README.md line {fence_line}: ") and expected in problem


def test_a_good_block_passes_and_markers_parse():
    text = "<!-- endpoint: storefront; run: shopper; expect: NOT_FOUND -->\n```graphql\nquery A { products(first: 1) { totalCount } }\n```\n\n```json\n{\"a\": 1}\n```"
    [block] = blocks(text)
    assert problems_of(block, graphql_schemas()) == []
    assert (block.endpoint, block.run_as, block.expect, block.variables_text) == ("storefront", "shopper", "NOT_FOUND", '{"a": 1}')
    assert parse_marker(" endpoint: core ; run: staff ") == {"endpoint": "core", "run": "staff"}
