"""The staff analytics page in the admin: figures and charts drawn by a locally served Chart.js."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from backend.analytics import aggregation
from backend.core.permissions import PlatformPermission

from ..conftest import PASSWORD, make_user
from .world import generate

pytestmark = pytest.mark.django_db
URL = "/admin/analytics/dailymetrics/"


def signed_in(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def test_finance_staff_see_the_figures_and_charts_with_chart_js_from_the_project():
    generate()
    aggregation.aggregate_day(timezone.localdate())
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    response = signed_in(staff).get(URL, {"period": "week", "date_from": "2026-01-01",
                                          "date_to": str(timezone.localdate())})
    assert response.status_code == 200
    page = response.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert any(s.endswith("analytics/vendor/chartjs/chart.umd.min.js") for s in scripts)
    assert all(not s.startswith(("http:", "https:", "//")) for s in scripts)
    assert finders.find("analytics/vendor/chartjs/chart.umd.min.js")
    assert finders.find("analytics/vendor/chartjs/LICENSE.md")
    data = json.loads(re.search(r'<script id="analytics-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["labels"] and len(data["series"]["gmv"]) == len(data["labels"])
    assert sum(v for v in data["series"]["orders"] if v) == response.context["report"].totals.orders > 0
    # The CSP allows only the project's own scripts: no inline script runs the charts.
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in page


def test_staff_without_the_permission_are_refused():
    client = signed_in(make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_VENDORS]))
    assert client.get(URL).status_code == 403
