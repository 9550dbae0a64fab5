"""Fee plans in the staff console: added as through the API, never edited; finance pages load."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backend.core.audit import audit_trail
from backend.finance.models import FeePlan

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def form(category, when, rate="0.04"):
    local = timezone.localtime(when)
    return {
        "category": category.pk,
        "effective_from_0": local.strftime("%Y-%m-%d"),
        "effective_from_1": local.strftime("%H:%M:%S"),
        "annual_fee": "1000.00",
        "commission_rate": rate,
        "deposit_amount": "2000.00",
        "rebate_rules": '[{"threshold": "5000", "fraction": "0.5"}]',
    }


def test_staff_add_a_plan_in_the_console(admin_client, tree):
    url = reverse("admin:finance_feeplan_add")
    past = admin_client.post(url, form(tree["food"], timezone.now() - timedelta(days=2)))
    assert past.status_code == 200 and not FeePlan.objects.exists()
    bad_rate = admin_client.post(url, form(tree["food"], timezone.now() + timedelta(days=1), rate="2"))
    assert bad_rate.status_code == 200 and not FeePlan.objects.exists()
    added = admin_client.post(url, form(tree["food"], timezone.now() + timedelta(days=1)))
    assert added.status_code == 302
    plan = FeePlan.objects.get()
    assert plan.rebate_rules == [{"threshold": "5000.00", "fraction": "0.5000"}]
    assert audit_trail(tree["food"]).get().action == "fee_plan.update"
    # Plans are never changed or deleted.
    change = admin_client.post(reverse("admin:finance_feeplan_change", args=[plan.pk]), form(tree["food"], timezone.now()))
    assert change.status_code in (302, 403) and FeePlan.objects.get().commission_rate == plan.commission_rate
    assert admin_client.get(reverse("admin:finance_feeplan_delete", args=[plan.pk])).status_code == 403


@pytest.mark.parametrize("model", ["feeplan", "feeperiod", "vendorrestriction", "vendorclosure", "payout",
                                   "vendorcommissionoverride"])
def test_finance_pages_load(admin_client, model):
    assert admin_client.get(reverse(f"admin:finance_{model}_changelist")).status_code == 200
