import pytest

from backend.logistics.models import ShippingService

from .conftest import make_shipment

pytestmark = pytest.mark.django_db


def test_staff_edit_carriers_zones_and_tables_in_the_admin(client, superuser, vendor):
    make_shipment(vendor)
    client.force_login(superuser)
    for model in ("region", "zoneassignment", "shippingservice", "pricingevent", "negotiatedrate", "carrierquota", "shipment"):
        assert client.get(f"/admin/logistics/{model}/").status_code == 200, model
    service = ShippingService.objects.get(code="economy")
    page = client.get(f"/admin/logistics/shippingservice/{service.pk}/change/")
    assert page.status_code == 200 and "zone_5" in page.content.decode()
