"""Query limits against a served instance (2 gunicorn workers, DEBUG off): the issue's hostile
queries are refused with a coded error, and a normal request is answered while four of them
are sent at once. Without the limits each would hold a worker for minutes, and the normal
request would wait behind them past the client's timeout."""

import time
from concurrent.futures import ThreadPoolExecutor

from ..hardening.test_query_limits import deep_categories, many_aliases, nested_vendor_products

NORMAL = "query ProductPage { products(first: 20) { edges { node { name vendor { name } } } } }"
HOSTILE = [
    ("storefront", nested_vendor_products(4), {"QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP"}),
    ("storefront", many_aliases(500, "storefront"), {"QUERY_TOO_COMPLEX"}),
    ("core", many_aliases(500, "core"), {"QUERY_TOO_COMPLEX"}),
    ("core", deep_categories(40), {"QUERY_TOO_DEEP"}),
]


def codes(body) -> set[str]:
    return {error.get("extensions", {}).get("code") for error in body.get("errors", [])}


def test_hostile_queries_are_refused_while_a_normal_request_is_answered(served):
    def hostile(case):
        endpoint, query, expected = case
        started = time.perf_counter()
        status, body = served.graphql(query, endpoint=endpoint)
        return endpoint, expected, status, body, time.perf_counter() - started

    for endpoint in ("core", "storefront"):  # both workers past their first request (imports)
        served.graphql("query Ping { __typename }", endpoint=endpoint)
    with ThreadPoolExecutor(max_workers=5) as pool:
        attacks = [pool.submit(hostile, case) for case in HOSTILE]
        normal = pool.submit(served.graphql, NORMAL, endpoint="storefront")
        status, body = normal.result()
        refused = [attack.result() for attack in attacks]

    assert status == 200 and "errors" not in body, body
    # The instance is shared with the other served tests: whatever they listed is answered in full.
    assert all(edge["node"]["vendor"]["name"] for edge in body["data"]["products"]["edges"])
    for endpoint, expected, attack_status, attack_body, seconds in refused:
        assert attack_status == (400 if endpoint == "core" else 200), attack_body
        assert attack_body.get("data") is None
        assert codes(attack_body) & expected, attack_body
        print(f"{endpoint} refused {sorted(codes(attack_body))} in {seconds * 1000:.0f} ms")


def test_the_cost_is_reported_when_asked(served):
    status, body = served.graphql(NORMAL, endpoint="storefront", headers={"X-Query-Cost": "1"})
    assert status == 200
    assert body["extensions"]["cost"]["requestedQueryCost"] == 80
    status, body = served.graphql(NORMAL, headers={"X-Query-Cost": "1"})
    assert status == 200 and body["extensions"]["cost"]["requestedQueryCost"] == 80
