"""Fuzz every query and mutation of both GraphQL APIs, in process, as four kinds of caller.

Schemathesis reads each schema by introspection through the WSGI application and generates valid
operations (arguments of the right types, any selection of fields). Every operation is sent as an
anonymous caller, a shopper, a merchant owner and a superuser, and every answer must be
- not a 5xx, and
- free of top-level `errors` other than GraphQL validation errors (those carry no `path`):
  a resolver never raises. Business failures come back in the payload's `errors` with a code;
  queries answer null or an empty list for what the caller may not see.

Bounded for the suite: a few examples per operation, derandomized so CI sees the same cases.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from backend.wsgi import application

from ..graphql_client import CORE_URL, STOREFRONT_URL
from .strategies import register_scalars

pytestmark = pytest.mark.django_db

CALLERS = ("anonymous", "shopper", "merchant", "staff")

# A few examples per operation keep the module well under a minute and a half on two cores;
# FUZZ_MAX_EXAMPLES=100 digs deeper by hand.
settings.register_profile(
    "graphql-fuzz",
    max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "6")),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the world is built once per operation, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
FUZZ = settings.get_profile("graphql-fuzz")

register_scalars()
# Positive cases only: operations that break the schema are refused by GraphQL validation before any
# resolver runs, so they cannot find what this module looks for.
CONFIG = {"generation": {"mode": "positive"}}
core_schema = schemathesis.graphql.from_wsgi(CORE_URL, application, config=SchemathesisConfig.from_dict(CONFIG))
storefront_schema = schemathesis.graphql.from_wsgi(
    STOREFRONT_URL, application, config=SchemathesisConfig.from_dict(CONFIG)
)


def only_validation_errors(ctx, response, case) -> None:
    """Top-level errors are allowed only before execution (no `path`): parsing, validation, coercion."""
    payload = json.loads(response.content)
    raised = [error for error in payload.get("errors") or [] if "path" in error]
    assert not raised, f"A resolver raised: {json.dumps(raised, ensure_ascii=False)[:1500]}"


def exercise(case, fuzz_world) -> None:
    for caller in CALLERS:
        case.call_and_validate(
            headers=fuzz_world.headers[caller], checks=[not_a_server_error, only_validation_errors]
        )


@core_schema.parametrize()
@settings(FUZZ)
def test_core_api(case, fuzz_world):
    exercise(case, fuzz_world)


@storefront_schema.parametrize()
@settings(FUZZ)
def test_storefront_api(case, fuzz_world):
    exercise(case, fuzz_world)
