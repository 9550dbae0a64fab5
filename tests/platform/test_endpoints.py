import pytest

from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient


@pytest.mark.django_db
@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_both_endpoints_answer(url):
    api = GraphQLClient(url)
    assert api.execute("{ __typename }") == {"__typename": "Query"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_graphiql_served_on_get_in_development(client, url, settings):
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_invalid_query_is_a_validation_error_not_a_crash(url):
    api = GraphQLClient(url)
    response = api.raw("{ noSuchField }")
    assert response.status_code in (200, 400)
    assert response.json()["errors"]


@pytest.mark.django_db
def test_session_cookie_does_not_authenticate_the_api(client, superuser):
    # The APIs only trust bearer tokens, so they need no CSRF protection.
    client.force_login(superuser)
    response = client.post(CORE_URL, {"query": "{ me { email } }"}, content_type="application/json")
    assert response.json()["data"]["me"] is None


# The production guards (SECRET_KEY, ALLOWED_HOSTS, dummy gateway) are tested in test_production_guards.py.
