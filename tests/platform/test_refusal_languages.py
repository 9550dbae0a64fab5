"""The refusals of both APIs and the stores' error messages follow Accept-Language (English,
Simplified Chinese): a query over a limit, a control character, a cross-site form post, a store
error. Strawberry logs refused queries at WARNING (one line), not ERROR with a traceback."""

import json
import logging

import pytest
from django.test import Client

from ..conftest import make_user
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from ..hardening.test_query_limits import deep_categories

pytestmark = pytest.mark.django_db
BOTH = pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL], ids=["core", "storefront"])
ZH = "zh-Hans,zh;q=0.9"

REGISTER = """
mutation($email: String!) {
  accountRegister(input: {email: $email, password: "Long-enough-9"}) { errors { code message } }
}"""
APPLY = """
mutation {
  vendorApplicationCreate(input: {storeName: " ", companyName: "Li Trading", contactEmail: "li@example.com",
                                  categories: [], documents: []}) {
    errors { field code message }
  }
}"""


def post(url, query, language, variables=None, **headers):
    return Client().post(
        url, json.dumps({"query": query, "variables": variables or {}}), content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language, **headers,
    )


@BOTH
def test_a_query_over_the_limits_is_refused_in_chinese(url):
    chinese = post(url, deep_categories(20), ZH).json()["errors"][0]
    english = post(url, deep_categories(20), "en").json()["errors"][0]
    assert chinese["extensions"]["code"] == english["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert chinese["message"].startswith("查询嵌套了 ") and "层；最多允许" in chinese["message"]
    assert english["message"].startswith("The query is nested ")


@BOTH
def test_a_control_character_is_refused_in_chinese(url):
    body = post(url, REGISTER, ZH, {"email": "nul\x00@example.com"}).json()
    (error,) = body["data"]["accountRegister"]["errors"]
    assert error == {"code": "INVALID", "message": "文本不能包含控制字符（如 NUL），制表符、换行符和回车符除外。"}
    body = post(url, REGISTER, "en", {"email": "nul\x00@example.com"}).json()
    assert body["data"]["accountRegister"]["errors"][0]["message"].startswith("Text may not contain control characters")


@BOTH
def test_a_cross_site_form_post_is_refused_in_chinese(url):
    response = Client().post(url, {"query": "{ __typename }"}, HTTP_ACCEPT_LANGUAGE=ZH)
    assert response.status_code == 400, response.content[:300]
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "CROSS_SITE_REQUEST_REFUSED"
    assert error["message"].startswith("此请求疑似跨站请求伪造，已被拒绝。")


def test_store_errors_are_in_chinese():
    api = GraphQLClient(CORE_URL).login(make_user())
    response = api.client.post(
        CORE_URL, json.dumps({"query": APPLY}), content_type="application/json", HTTP_ACCEPT_LANGUAGE=ZH,
        **api._headers(None),
    )
    (error,) = response.json()["data"]["vendorApplicationCreate"]["errors"]
    assert (error["code"], error["message"]) == ("REQUIRED", "此项为必填项。")


def test_strawberry_logs_refused_queries_as_warnings_without_a_traceback(caplog):
    caplog.set_level(logging.INFO)
    assert post(STOREFRONT_URL, deep_categories(20), "en").json()["errors"]
    assert post(STOREFRONT_URL, "query { nope }", "en").json()["errors"]
    refused = [r for r in caplog.records if r.name == "storefront_api.refused"]
    assert [r.levelno for r in refused] == [logging.WARNING, logging.WARNING]
    assert "QUERY_TOO_DEEP" in refused[0].getMessage() and refused[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
