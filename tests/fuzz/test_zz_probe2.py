import json
import pytest
from graphql_relay import to_global_id
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from .conftest import *  # noqa

LONG = "長" * 300

def bad(r):
    body = r.json(); errs = body.get("errors")
    return r.status_code >= 500 or (errs and any("path" in e for e in errs)), json.dumps(errs)[:300]

@pytest.mark.django_db
def test_probe(fuzz_world):
    from backend.vendors.models import Vendor
    from backend.catalog.models import Category, Product, ProductVariant
    from backend.accounts.models import User
    v = Vendor.objects.first(); c = Category.objects.first(); p = Product.objects.first()
    V, C, P = (to_global_id(t, o.pk) for t, o in [("Vendor", v), ("Category", c), ("Product", p)])
    sku = ProductVariant.objects.first().sku
    tok = {k: h["Authorization"].split()[1] for k, h in fuzz_world.headers.items() if h}
    docs = [
      ("staff", 'mutation { permissionGroupCreate(name: "Dup", permissions: []) { errors { code } } }', {}),
      ("staff", 'mutation { permissionGroupCreate(name: "Dup", permissions: []) { errors { code } } }', {}),
      ("staff", 'mutation($n: String!) { permissionGroupCreate(name: $n, permissions: []) { errors { code } } }', {"n": LONG}),
      ("staff", 'mutation { staffCreate(input: {email: "shopper@example.com", password: "Xx-123456789"}) { errors { code } } }', {}),
      ("anon", 'mutation($e: String!) { accountRegister(input: {email: $e, password: "Xx-123456789"}) { errors { code } } }', {"e": "shopper@example.com"}),
      ("anon", 'mutation($e: String!) { accountRegister(input: {email: $e, password: "Xx-123456789", firstName: $e}) { errors { code } } }', {"e": "a" * 300 + "@example.com"}),
      ("merchant", 'mutation { vendorStaffAdd(vendor: "%s", email: "shopper@example.com", role: OPERATOR) { errors { code } } }' % V, {}),
      ("merchant", 'mutation { vendorStaffAdd(vendor: "%s", email: "shopper@example.com", role: OPERATOR) { errors { code } } }' % V, {}),
      ("merchant", 'mutation { vendorStaffAdd(vendor: "%s", email: "applicant@example.com", role: OWNER) { errors { code } } }' % V, {}),
      ("merchant", 'mutation($s: String!) { productVariantCreate(product: "%s", input: {sku: $s, price: "1.00"}) { errors { code } } }' % P, {"s": sku}),
      ("merchant", 'mutation($s: String!) { productVariantCreate(product: "%s", input: {sku: $s, price: "1.00"}) { errors { code } } }' % P, {"s": LONG}),
      ("merchant", 'mutation($s: String!) { productCreate(input: {category: "%s", name: $s, description: $s}) { errors { code } } }' % C, {"s": LONG * 40}),
      ("merchant", 'mutation($s: String!) { productCreate(input: {category: "%s", name: "Tea", variants: [{sku: $s, price: "1"}, {sku: $s, price: "2"}]}) { errors { code } } }' % C, {"s": "SAME"}),
      ("merchant", 'mutation($s: String!) { vendorUpdate(id: "%s", input: {name: $s, contactPhone: $s, description: $s}) { errors { code } } }' % V, {"s": LONG}),
      ("shopper", 'mutation($s: String!) { vendorApplicationCreate(input: {storeName: $s, companyName: $s, contactEmail: "x@example.com", contactPhone: $s, categories: ["%s"], documents: []}) { errors { code } } }' % C, {"s": LONG}),
      ("merchant", 'mutation($s: String!) { orderShip(id: "%s", input: {carrier: "logistics.table_rate", trackingNumber: $s}) { errors { code } } }' % to_global_id("Order", 1), {"s": LONG}),
      ("staff", 'mutation($s: String!) { vendorSuspend(id: "%s", reason: $s) { errors { code } } }' % V, {"s": LONG * 100}),
      ("staff", 'mutation($s: String!) { pluginUpdate(id: "dummy", input: {active: true, configuration: $s}) { errors { code } } }', {"s": '{"x": 1}'}),
      ("staff", 'mutation($s: JSONString) { pluginUpdate(id: "logistics.table_rate", input: {configuration: $s}) { errors { code } } }', {"s": '[1,2]'}),
      ("staff", 'mutation($s: JSONString) { pluginUpdate(id: "logistics.table_rate", input: {configuration: $s}) { errors { code } } }', {"s": '"text"'}),
      ("staff", 'mutation($s: JSONString) { pluginUpdate(id: "listing.banned_words", input: {configuration: $s}) { errors { code } } }', {"s": '{"banned_words": 5}'}),
    ]
    out = []
    api = GraphQLClient(CORE_URL)
    for who, doc, variables in docs:
        r = api.raw(doc, variables, token=tok.get(who, ""))
        b, e = bad(r)
        print("RESULT", who, doc[11:50], r.status_code, json.dumps(r.json())[:200])
        if b: out.append((who, doc[:80], e))
    for row in out: print("PROBLEM", row)
