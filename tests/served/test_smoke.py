"""The served instance itself: both endpoints answer from a real gunicorn process with DEBUG off."""


def test_both_endpoints_answer(served):
    status, body = served.graphql("query Ping { __typename }")
    assert (status, body) == (200, {"data": {"__typename": "Query"}})
    status, body = served.graphql("query Ping { __typename }", endpoint="storefront")
    assert (status, body) == (200, {"data": {"__typename": "Query"}})


def test_debug_is_off(served):
    # With DEBUG on, Django answers an unknown path with its technical 404 page naming the URL patterns.
    status, _headers, content = served.get("/no-such-page/")
    assert status == 404
    assert b"urlpatterns" not in content and b"URLconf" not in content
    assert served.env["DEBUG"] == "0"


def test_manage_runs_against_the_same_database(served):
    result = served.manage("showmigrations", "accounts", "--plan")
    assert result.returncode == 0, result.stderr
    assert "[X]" in result.stdout and "[ ]" not in result.stdout
