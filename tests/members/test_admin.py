"""Staff see a shopper's points and tier in the admin; nothing there moves points."""

import pytest
from django.contrib import admin
from django.urls import reverse

from backend.members.models import Member, PointsEntry

from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user
from ..promotions.helpers import release
from .helpers import tiers

pytestmark = pytest.mark.django_db


def test_a_shoppers_points_and_history_on_the_admin(client, admin_user, rf):
    tiers()
    tea, owner = store("Tea House")
    shopper = make_user()
    green = listing(tea, price="100.00")
    release(complete(ready_checkout(shopper, [(green, 6)]), user=shopper).orders[0], owner, shopper)
    member = Member.objects.get(user=shopper)
    client.force_login(admin_user)
    listing_page = client.get(reverse("admin:members_member_changelist"))
    assert listing_page.status_code == 200 and shopper.email in listing_page.content.decode()
    page = client.get(reverse("admin:members_member_change", args=[member.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "900" in text and "银卡" in text and "9.00 CNY" in text
    assert client.get(reverse("admin:members_tier_changelist")).status_code == 200
    request = rf.get("/")
    request.user = admin_user
    entries = admin.site._registry[PointsEntry]
    assert not entries.has_add_permission(request) and not entries.has_change_permission(request)
    assert not admin.site._registry[Member].has_add_permission(request)
