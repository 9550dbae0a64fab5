"""Store staff by invitation: one answer whatever the email is, the invited account answers itself,
the owner lists and revokes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.vendors.models import InvitationStatus, VendorRole, VendorStaff, VendorStaffInvitation

from ..factories import staff_join, vendor_with_owner
from ..graphql_client import CORE_URL, GraphQLClient, error_codes

pytestmark = pytest.mark.django_db

INVITE = """
mutation($vendor: ID!, $email: String!, $role: VendorRole!) {
  vendorStaffInvite(vendor: $vendor, email: $email, role: $role) {
    invitation { id email role status storeName } errors { field code message }
  }
}"""
ACCEPT = """
mutation($id: ID, $token: String) {
  vendorStaffInvitationAccept(id: $id, token: $token) {
    vendorStaff { role user { email } vendor { name } } errors { field code }
  }
}"""
DECLINE = """
mutation($id: ID, $token: String) {
  vendorStaffInvitationDecline(id: $id, token: $token) { invitation { status } errors { field code } }
}"""
REVOKE = "mutation($id: ID!) { vendorStaffInvitationRevoke(id: $id) { invitation { status } errors { field code } } }"
MY_INVITATIONS = "{ me { vendorStaffInvitations { id storeName role email } } }"
VENDOR_INVITATIONS = "query($id: ID!) { vendor(id: $id) { staffInvitations { email role status } } }"


def api(user=None):
    client = GraphQLClient(CORE_URL)
    return client.login(user) if user else client


def gid(obj):
    return to_global_id(type(obj).__name__, obj.pk)


@pytest.fixture
def store():
    vendor, owner = vendor_with_owner(name="Jade Garden")
    return vendor, owner


def invite(owner, vendor, email, role="OPERATOR"):
    return api(owner).mutate(INVITE, {"vendor": gid(vendor), "email": email, "role": role})


def test_the_answer_is_the_same_whatever_the_email_is(store, user_factory, staff_factory, mailbox):
    vendor, owner = store
    other_vendor, other_owner = vendor_with_owner(name="Other Store")
    shopper = user_factory("shopper@example.com")
    platform = staff_factory(PlatformPermission.MANAGE_VENDORS, email="staff@example.com")
    someone_elses = user_factory("operator@example.com")
    staff_join(other_owner, other_vendor, someone_elses)
    answers = {}
    with mailbox.capture():
        for email in ("nobody@example.com", platform.email, someone_elses.email, shopper.email, owner.email):
            payload = invite(owner, vendor, email)
            assert payload["errors"] == [], email
            answers[email] = {**payload["invitation"], "id": None, "email": None}
    assert len({repr(a) for a in answers.values()}) == 1, answers
    assert next(iter(answers.values())) == {
        "id": None, "email": None, "role": "OPERATOR", "status": "PENDING", "storeName": "Jade Garden"
    }
    # Everyone was written to, and nobody was bound to the store without answering.
    assert sorted(m.to[0] for m in mailbox.outbox) == sorted(answers)
    assert list(vendor.staff.values_list("user__email", flat=True)) == [owner.email]
    assert VendorStaff.objects.filter(user=shopper).count() == 0


def test_the_invited_account_accepts_from_its_pending_invitations(store, user_factory, mailbox):
    vendor, owner = store
    shopper = user_factory("Shopper@example.com")
    with mailbox.capture():
        invite(owner, vendor, "SHOPPER@example.com", "CUSTOMER_SERVICE")
    assert "token:" in mailbox.only("shopper@example.com").body
    pending = api(shopper).execute(MY_INVITATIONS)["me"]["vendorStaffInvitations"]
    assert [(p["storeName"], p["role"]) for p in pending] == [("Jade Garden", "CUSTOMER_SERVICE")]
    # The owner sees it pending; the invited account has not joined yet.
    listed = api(owner).execute(VENDOR_INVITATIONS, {"id": gid(vendor)})["vendor"]["staffInvitations"]
    assert listed == [{"email": "shopper@example.com", "role": "CUSTOMER_SERVICE", "status": "PENDING"}]

    accepted = api(shopper).mutate(ACCEPT, {"id": pending[0]["id"]})
    assert accepted["errors"] == []
    assert accepted["vendorStaff"] == {
        "role": "CUSTOMER_SERVICE", "user": {"email": "shopper@example.com"}, "vendor": {"name": "Jade Garden"}
    }
    assert VendorStaff.objects.get(user=shopper).role == VendorRole.CUSTOMER_SERVICE
    assert api(owner).execute(VENDOR_INVITATIONS, {"id": gid(vendor)})["vendor"]["staffInvitations"] == []
    assert api(shopper).execute(MY_INVITATIONS)["me"]["vendorStaffInvitations"] == []
    again = api(shopper).mutate(ACCEPT, {"id": pending[0]["id"]})
    assert error_codes(again) == ["INVALID_TRANSITION"]


def test_accept_with_the_emailed_token_and_decline(store, user_factory, mailbox):
    vendor, owner = store
    first, second = user_factory("first@example.com"), user_factory("second@example.com")
    with mailbox.capture():
        invite(owner, vendor, first.email)
        invite(owner, vendor, second.email)
    token = mailbox.token(mailbox.only(first.email))
    assert error_codes(api(second).mutate(ACCEPT, {"token": token})) == ["NOT_FOUND"], "someone else's token"
    assert error_codes(api(first).mutate(ACCEPT, {"token": "guessed"})) == ["NOT_FOUND"]
    assert error_codes(api().mutate(ACCEPT, {"token": token})) == ["PERMISSION_DENIED"]
    assert api(first).mutate(ACCEPT, {"token": token})["errors"] == []
    declined = api(second).mutate(DECLINE, {"token": mailbox.token(mailbox.only(second.email))})
    assert declined == {"invitation": {"status": "DECLINED"}, "errors": []}
    assert not VendorStaff.objects.filter(user=second).exists()


def test_only_the_addressee_with_a_confirmed_email_may_answer(store, user_factory):
    vendor, owner = store
    invitation_id = invite(owner, vendor, "invited@example.com")["invitation"]["id"]
    stranger = user_factory("stranger@example.com")
    unconfirmed = user_factory("invited@example.com")
    unconfirmed.email_confirmed = False
    unconfirmed.save()
    for caller in (stranger, unconfirmed, owner):
        assert error_codes(api(caller).mutate(ACCEPT, {"id": invitation_id})) == ["NOT_FOUND"], caller.email
        assert error_codes(api(caller).mutate(DECLINE, {"id": invitation_id})) == ["NOT_FOUND"], caller.email
    assert api(unconfirmed).execute(MY_INVITATIONS)["me"]["vendorStaffInvitations"] == []
    assert VendorStaffInvitation.objects.get().status == InvitationStatus.PENDING


def test_who_may_not_join_is_told_only_when_they_accept(store, user_factory, staff_factory):
    vendor, owner = store
    other_vendor, other_owner = vendor_with_owner()
    platform = staff_factory(email="staff@example.com")
    busy = user_factory("busy@example.com")
    staff_join(other_owner, other_vendor, busy)
    for user, code in ((platform, "PERMISSION_DENIED"), (busy, "ALREADY_VENDOR_STAFF")):
        invitation_id = invite(owner, vendor, user.email)["invitation"]["id"]
        assert error_codes(api(user).mutate(ACCEPT, {"id": invitation_id})) == [code]
    assert list(vendor.staff.values_list("user__email", flat=True)) == [owner.email]


def test_owner_revokes_others_cannot(store, user_factory):
    vendor, owner = store
    operator = user_factory("operator@example.com")
    staff_join(owner, vendor, operator)
    other_vendor, other_owner = vendor_with_owner()
    invited = user_factory("invited@example.com")
    invitation_id = invite(owner, vendor, invited.email)["invitation"]["id"]

    assert error_codes(api(operator).mutate(REVOKE, {"id": invitation_id})) == ["NOT_FOUND"]
    assert error_codes(api(other_owner).mutate(REVOKE, {"id": invitation_id})) == ["NOT_FOUND"]
    assert error_codes(invite(operator, vendor, "x@example.com")) == ["PERMISSION_DENIED"]
    assert error_codes(invite(other_owner, vendor, "x@example.com")) == ["NOT_FOUND"]
    assert api(operator).execute(VENDOR_INVITATIONS, {"id": gid(vendor)})["vendor"]["staffInvitations"] == []

    assert api(owner).mutate(REVOKE, {"id": invitation_id}) == {"invitation": {"status": "REVOKED"}, "errors": []}
    assert error_codes(api(owner).mutate(REVOKE, {"id": invitation_id})) == ["INVALID_TRANSITION"]
    assert error_codes(api(invited).mutate(ACCEPT, {"id": invitation_id})) == ["INVALID_TRANSITION"]
    assert not VendorStaff.objects.filter(user=invited).exists()


def test_inviting_again_replaces_the_pending_invitation(store, user_factory, mailbox):
    vendor, owner = store
    invited = user_factory("invited@example.com")
    with mailbox.capture():
        first = invite(owner, vendor, invited.email, "OPERATOR")["invitation"]["id"]
        invite(owner, vendor, invited.email, "OWNER")
    old_token = mailbox.token(mailbox.outbox[0])
    assert error_codes(api(invited).mutate(ACCEPT, {"token": old_token})) == ["INVALID_TRANSITION"]
    assert error_codes(api(invited).mutate(ACCEPT, {"id": first})) == ["INVALID_TRANSITION"]
    assert api(invited).mutate(ACCEPT, {"token": mailbox.token(mailbox.outbox[1])})["vendorStaff"]["role"] == "OWNER"


def test_invitations_expire_and_are_capped(store, user_factory, settings):
    vendor, owner = store
    invited = user_factory("invited@example.com")
    invitation_id = invite(owner, vendor, invited.email)["invitation"]["id"]
    with freeze_time(timezone.now() + timedelta(days=settings.VENDOR_STAFF_INVITATION_DAYS, hours=1)):
        assert error_codes(api(invited).mutate(ACCEPT, {"id": invitation_id})) == ["INVITATION_EXPIRED"]
    settings.VENDOR_STAFF_PENDING_INVITATIONS_MAX = 2
    assert invite(owner, vendor, "two@example.com")["errors"] == []
    assert error_codes(invite(owner, vendor, "three@example.com")) == ["TOO_MANY_INVITATIONS"]
    assert not VendorStaffInvitation.objects.filter(email="three@example.com").exists()


def test_bad_input_writes_nothing(store):
    vendor, owner = store
    assert error_codes(invite(owner, vendor, "not-an-email")) == ["INVALID"]
    assert error_codes(invite(owner, vendor, "")) == ["REQUIRED"]
    assert not VendorStaffInvitation.objects.exists()
