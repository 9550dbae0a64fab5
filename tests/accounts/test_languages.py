"""Emails and API error messages in English or Simplified Chinese (Accept-Language, the account's language)."""

import json

import pytest
from django.test import Client

from backend.accounts.models import User

from ..conftest import PASSWORD
from ..graphql_client import CORE_URL, STOREFRONT_URL

pytestmark = pytest.mark.django_db
BOTH = pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL], ids=["core", "storefront"])


def post(url, query, language):
    response = Client().post(
        url, json.dumps({"query": query}), content_type="application/json", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    return response.json()["data"]


@BOTH
def test_error_messages_follow_accept_language(url, user_factory):
    user_factory("ann@example.com")
    query = 'mutation { tokenCreate(email: "ann@example.com", password: "wrong") { errors { code message } } }'
    assert post(url, query, "zh-CN,zh;q=0.9")["tokenCreate"]["errors"] == [
        {"code": "INVALID_CREDENTIALS", "message": "电子邮箱或密码错误。"}
    ]
    assert post(url, query, "en-US,en;q=0.9")["tokenCreate"]["errors"] == [
        {"code": "INVALID_CREDENTIALS", "message": "Wrong email or password."}
    ]


@BOTH
def test_emails_are_written_in_the_accounts_language(url, mailbox):
    register = (
        'mutation { accountRegister(input: {email: "li@example.com", password: "%s"}) { errors { code } } }' % PASSWORD
    )
    with mailbox.capture():
        assert post(url, register, "zh-Hans")["accountRegister"]["errors"] == []
    assert User.objects.get(email="li@example.com").language_code == "zh-hans"
    confirmation = mailbox.only("li@example.com")
    assert confirmation.subject == "请确认您的电子邮箱地址"
    assert "token: " in confirmation.body
    mailbox.outbox.clear()
    # Asked for later in English, the email still comes in the account's language.
    with mailbox.capture():
        post(url, 'mutation { passwordResetRequest(email: "li@example.com") { errors { code } } }', "en")
    assert mailbox.only("li@example.com").subject == "重置您的密码"


def test_emails_to_addresses_without_account_use_the_request_language(mailbox):
    from backend.vendors.models import VendorRole

    from ..factories import vendor_with_owner
    from ..graphql_client import GraphQLClient

    vendor, owner = vendor_with_owner(name="Jade Garden")
    api = GraphQLClient(CORE_URL).login(owner)
    from graphql_relay import to_global_id

    with mailbox.capture():
        response = api.client.post(
            CORE_URL,
            json.dumps({
                "query": "mutation($v: ID!) { vendorStaffInvite(vendor: $v, email: \"new@example.com\", role: OPERATOR)"
                         " { errors { code } } }",
                "variables": {"v": to_global_id("Vendor", vendor.pk)},
            }),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api.token}",
            HTTP_ACCEPT_LANGUAGE="zh-CN",
        )
    assert response.json()["data"]["vendorStaffInvite"]["errors"] == []
    mail = mailbox.only("new@example.com")
    assert mail.subject == "Jade Garden 邀请您加入"
    assert "「运营」" in mail.body and VendorRole.OPERATOR.label not in mail.body


def test_invitation_errors_follow_accept_language(user_factory):
    from ..graphql_client import GraphQLClient

    api = GraphQLClient(CORE_URL).login(user_factory("li@example.com"))
    response = api.client.post(
        CORE_URL,
        json.dumps({"query": 'mutation { vendorStaffInvitationAccept(token: "guessed") { errors { code message } } }'}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    assert response.json()["data"]["vendorStaffInvitationAccept"]["errors"] == [
        {"code": "NOT_FOUND", "message": "您的账户没有这个邀请。"}
    ]
