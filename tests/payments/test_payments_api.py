"""Payments in the core API: the gateways on offer and who may see a payment."""

import pytest
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.payments.models import PaymentPurpose
from backend.payments.services import payment_process

from ..finance.helpers import cny
from ..graphql_client import CORE_URL, GraphQLClient

pytestmark = pytest.mark.django_db

PAYMENT = """
query($id: ID!) {
  payment(id: $id) {
    id gateway status purpose pspReference
    amount { amount currency } capturedAmount { amount } refundedAmount { amount }
  }
}"""


def test_available_payment_gateways(configure_plugin):
    api = GraphQLClient(CORE_URL)
    query = "{ availablePaymentGateways { id name } }"
    assert api.execute(query)["availablePaymentGateways"] == [{"id": "dummy", "name": "Dummy gateway"}]
    configure_plugin("stripe", active=True)
    assert [g["id"] for g in api.execute(query)["availablePaymentGateways"]] == ["dummy", "stripe"]


def test_payment_visibility(shopper, user_factory, staff_factory, vendor_and_owner):
    payment = payment_process(gateway="dummy", token="success", amount=cny("9.90"), idempotency_key="k", customer=shopper)
    variables = {"id": to_global_id("Payment", payment.pk)}
    own = GraphQLClient(CORE_URL).login(shopper).execute(PAYMENT, variables)["payment"]
    assert own["status"] == "CAPTURED" and own["purpose"] == "CHECKOUT"
    assert own["amount"] == {"amount": "9.90", "currency": "CNY"} and own["capturedAmount"] == {"amount": "9.90"}
    assert own["refundedAmount"] == {"amount": "0.00"}
    finance = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_FINANCE))
    assert finance.execute(PAYMENT, variables)["payment"]["gateway"] == "dummy"
    _vendor, owner = vendor_and_owner
    for outsider in (user_factory(), owner):
        assert GraphQLClient(CORE_URL).login(outsider).execute(PAYMENT, variables)["payment"] is None
    assert GraphQLClient(CORE_URL).execute(PAYMENT, variables)["payment"] is None


def test_vendor_staff_see_their_fee_payments(vendor_and_owner):
    vendor, owner = vendor_and_owner
    payment = payment_process(
        gateway="dummy", token="success", amount=cny(300), idempotency_key="fee", purpose=PaymentPurpose.VENDOR_FEE, vendor=vendor
    )
    data = GraphQLClient(CORE_URL).login(owner).execute(PAYMENT, {"id": to_global_id("Payment", payment.pk)})
    assert data["payment"]["purpose"] == "VENDOR_FEE"
