"""Signed download links: vendor documents, statements (CSV, PDF) and dispute evidence.

A link names one object and is signed for one kind of file: it cannot be turned into a link to
another tenant's object (its payload swapped, or one kind's token used for another), it stops
working when it expires, and a tampered one is refused. A statement link also names who asked
for it and is refused once that person may no longer see the store's money.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.accounts.models import User
from backend.vendors.models import VendorStaff

from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from .cases import MONTH

pytestmark = pytest.mark.django_db

DOCUMENTS = "query($id: ID!) { vendorApplication(id: $id) { documents { id url } } }"
STATEMENT = "query($vendor: ID!, $from: Date!, $to: Date!) { vendorStatement(vendor: $vendor, from: $from, to: $to) { csvUrl pdfUrl } }"
CORE_EVIDENCE = "query($id: ID!) { dispute(id: $id) { messages { evidence { url thumbnailUrl } } } }"


def path(url: str) -> str:
    return url.removeprefix("http://testserver")


def get(url: str):
    return Client().get(path(url))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def token_of(url: str) -> str:
    """The signed token inside a link (the last path segment, before any extension)."""
    last = path(url).rstrip("/").rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[0] if "/finance/statements/" in url else last


def with_token(url: str, token: str) -> str:
    return path(url).replace(token_of(url), token)


def swap_payload(token: str, other: str) -> str:
    """`other`'s signed payload under `token`'s timestamp and signature (Django's signing format)."""
    return ":".join([other.split(":")[0], *token.split(":")[1:]])


def flip(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def document_link(world, key: str) -> str:
    tenant = getattr(world, key)
    data = GraphQLClient(CORE_URL).login(tenant.owner).execute(
        DOCUMENTS, {"id": to_global_id("VendorApplication", tenant.application.pk)}
    )
    return data["vendorApplication"]["documents"][0]["url"]


def statement_links(world, key: str, user=None) -> dict:
    tenant = getattr(world, key)
    data = GraphQLClient(CORE_URL).login(user or tenant.owner).execute(
        STATEMENT, {"vendor": to_global_id("Vendor", tenant.vendor.pk), **MONTH}
    )
    return data["vendorStatement"]


def evidence_link(world, key: str) -> str:
    tenant = getattr(world, key)
    data = GraphQLClient(CORE_URL).login(tenant.owner).execute(
        CORE_EVIDENCE, {"id": to_global_id("Dispute", tenant.dispute.pk)}
    )
    (picture,) = [e for message in data["dispute"]["messages"] for e in message["evidence"]]
    return picture["url"]


# --- Vendor documents ---------------------------------------------------------------------


def test_a_document_link_serves_its_own_document_only(world):
    alpha, bravo = document_link(world, "alpha"), document_link(world, "bravo")
    served = get(alpha)
    assert served.status_code == 200
    assert body(served) == world.alpha.document.file.open("rb").read()
    # Bravo's signature over Alpha's payload, and a tampered token, open nothing.
    assert get(with_token(bravo, swap_payload(token_of(bravo), token_of(alpha)))).status_code == 404
    assert get(with_token(alpha, flip(token_of(alpha)))).status_code == 404


def test_a_document_link_expires(world):
    link = document_link(world, "alpha")
    with freeze_time(timezone.now() + timedelta(seconds=settings.VENDOR_DOCUMENT_LINK_MAX_AGE + 5)):
        assert get(link).status_code == 404


def test_a_statement_token_opens_no_document_and_the_reverse(world):
    document = document_link(world, "alpha")
    statement = statement_links(world, "alpha")["csvUrl"]
    assert get(with_token(document, token_of(statement))).status_code == 404
    assert get(with_token(statement, token_of(document))).status_code == 404


# --- Statements -----------------------------------------------------------------------------


def test_statement_links_serve_the_vendors_statement(world):
    links = statement_links(world, "alpha")
    csv = get(links["csvUrl"])
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "Alpha Outfitters" in body(csv).decode()
    pdf = get(links["pdfUrl"])
    assert pdf.status_code == 200 and body(pdf).startswith(b"%PDF")


def test_a_statement_link_cannot_be_turned_to_another_vendor(world):
    alpha, bravo = statement_links(world, "alpha")["csvUrl"], statement_links(world, "bravo")["csvUrl"]
    assert get(with_token(bravo, swap_payload(token_of(bravo), token_of(alpha)))).status_code == 404
    assert get(with_token(bravo, flip(token_of(bravo)))).status_code == 404
    # Only the two formats exist.
    assert Client().get(path(bravo).replace(".csv", ".html")).status_code == 404


def test_a_statement_link_expires(world):
    link = statement_links(world, "alpha")["csvUrl"]
    with freeze_time(timezone.now() + timedelta(seconds=settings.STATEMENT_LINK_MAX_AGE + 5)):
        assert get(link).status_code == 404


def test_a_statement_link_dies_with_its_holders_access(world):
    """The link names who asked: once they leave the store, or are deactivated, it opens nothing."""
    operator_link = statement_links(world, "alpha", world.alpha.operator)["csvUrl"]
    owner_link = statement_links(world, "alpha")["csvUrl"]
    assert get(operator_link).status_code == 200
    VendorStaff.objects.filter(user=world.alpha.operator).delete()
    assert get(operator_link).status_code == 404
    User.objects.filter(pk=world.alpha.owner.pk).update(is_active=False)
    assert get(owner_link).status_code == 404


def test_another_vendor_gets_no_statement_link(world):
    data = GraphQLClient(CORE_URL).login(world.bravo.owner).execute(
        STATEMENT, {"vendor": to_global_id("Vendor", world.alpha.vendor.pk), **MONTH}
    )
    assert data["vendorStatement"] is None


# --- Dispute evidence ------------------------------------------------------------------------


def test_an_evidence_link_serves_its_own_picture_only(world):
    alpha, bravo = evidence_link(world, "alpha"), evidence_link(world, "bravo")
    served = get(alpha)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert get(with_token(bravo, swap_payload(token_of(bravo), token_of(alpha)))).status_code == 404
    assert get(with_token(alpha, flip(token_of(alpha)))).status_code == 404
    # A document's token opens no picture, and a picture's no document.
    document = document_link(world, "alpha")
    assert get(with_token(alpha, token_of(document))).status_code == 404
    assert get(with_token(document, token_of(alpha))).status_code == 404


def test_an_evidence_link_expires(world):
    link = evidence_link(world, "alpha")
    with freeze_time(timezone.now() + timedelta(seconds=settings.DISPUTE_EVIDENCE_LINK_MAX_AGE + 5)):
        assert get(link).status_code == 404


def test_the_shopper_gets_working_evidence_links_and_strangers_none(world):
    query = "query($id: ID!) { dispute(id: $id) { messages { evidence { url } } } }"
    variables = {"id": to_global_id("Dispute", world.alpha.dispute.pk)}
    own = GraphQLClient(STOREFRONT_URL).login(world.shopper1).execute(query, variables)
    (picture,) = [e for message in own["dispute"]["messages"] for e in message["evidence"]]
    assert get(picture["url"]).status_code == 200
    for stranger in (world.shopper2, world.bravo.owner):
        api = STOREFRONT_URL if stranger == world.shopper2 else CORE_URL
        assert GraphQLClient(api).login(stranger).execute(query, variables)["dispute"] is None


def test_no_private_file_is_named_by_its_storage_path(world):
    """Documents and evidence are stored under unguessable names, and the API never hands those out."""
    stored = [world.alpha.document.file.name]
    for message in world.alpha.dispute.messages.all():
        for evidence in message.evidence.all():
            stored += [p for formats in evidence.renditions.values() for p in formats.values()]
    responses = [
        GraphQLClient(CORE_URL).login(world.alpha.owner).raw(
            CORE_EVIDENCE, {"id": to_global_id("Dispute", world.alpha.dispute.pk)}
        ).content.decode(),
        GraphQLClient(CORE_URL).login(world.alpha.owner).raw(
            DOCUMENTS, {"id": to_global_id("VendorApplication", world.alpha.application.pk)}
        ).content.decode(),
    ]
    assert len(stored) > 1
    assert [name for name in stored if any(name in text for text in responses)] == []
