"""Steps of the marketplace's users over HTTP, shared by the served tests.

Everything is seeded through the public APIs and manage.py, as a real operator would:
a superuser from `createsuperuser`, the category tree from `populatedb --only categories`,
stores that apply with a document, are approved, pay their fee and deposit and list products
that staff review.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image

from fixtures.demo.documents import minimal_pdf

from .server import ServedInstance

PASSWORD = "Served-Journey-2026"
STAFF_EMAIL = "root@served.example.com"
TRACKING_SECRET = "served-tracking-secret"
TABLE_RATE = "logistics.table_rate"
SHANGHAI = "310000"

ERRORS = "errors { field code message }"


class GraphQLFailure(AssertionError):
    pass


def call(served: ServedInstance, query: str, variables=None, *, endpoint="core", token=None, files=None) -> dict:
    """Run one operation; fails on anything but HTTP 200 without top-level errors. Returns `data`."""
    if files:
        status, body = served.graphql_multipart(query, variables or {}, files, endpoint=endpoint, token=token)
    else:
        status, body = served.graphql(query, variables, endpoint=endpoint, token=token)
    if status != 200 or body.get("errors") or "data" not in body:
        raise GraphQLFailure(f"HTTP {status}: {json.dumps(body, ensure_ascii=False)[:3000]}")
    return body["data"]


def mutate(served: ServedInstance, query: str, variables=None, **kwargs) -> dict:
    """A mutation whose payload must have no errors; returns that payload."""
    data = call(served, query, variables, **kwargs)
    (payload,) = data.values()
    if payload.get("errors"):
        raise GraphQLFailure(f"payload errors: {json.dumps(payload['errors'], ensure_ascii=False)}")
    return payload


def race(count: int, action) -> list:
    """Runs action(i) in `count` threads released at the same moment; returns the results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        barrier.wait()
        try:
            results[index] = action(index)
        except BaseException as exc:  # the test inspects it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a concurrent request hung"
    return results


def jpeg(size=(640, 640), colour=(180, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tracking_signature(body: bytes, secret: str = TRACKING_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- accounts ---

TOKEN_CREATE = f"""
mutation SignIn($email: String!, $password: String!) {{
  tokenCreate(email: $email, password: $password) {{ token refreshToken user {{ id email }} {ERRORS} }}
}}"""
TOKEN_REFRESH = f"""
mutation Refresh($refreshToken: String!) {{
  tokenRefresh(refreshToken: $refreshToken) {{ token refreshToken user {{ email }} {ERRORS} }}
}}"""
ACCOUNT_REGISTER = f"""
mutation Register($input: AccountRegisterInput!) {{ accountRegister(input: $input) {{ user {{ id email }} {ERRORS} }} }}"""


def sign_in(served, email, password=PASSWORD, *, endpoint="core") -> dict:
    return mutate(served, TOKEN_CREATE, {"email": email, "password": password}, endpoint=endpoint)


ACCOUNT_CONFIRM = f"""
mutation Confirm($email: String!, $token: String!) {{ accountConfirm(email: $email, token: $token) {{ {ERRORS} }} }}"""


def confirmation_token(served, email) -> str:
    """The token the confirmation email carries, made with the instance's secret key (the email
    itself goes to the web process's console)."""
    result = served.manage(
        "shell",
        "-c",
        "from backend.accounts.models import User; from backend.accounts.services import confirmation_tokens; "
        f"print(confirmation_tokens.make_token(User.objects.get(email={email.lower()!r})))",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def register(served, email, *, endpoint="core") -> str:
    """Register, confirm the email, sign in: the account's access token."""
    mutate(served, ACCOUNT_REGISTER, {"input": {"email": email, "password": PASSWORD}}, endpoint=endpoint)
    mutate(served, ACCOUNT_CONFIRM, {"email": email, "token": confirmation_token(served, email)}, endpoint=endpoint)
    return sign_in(served, email, endpoint=endpoint)["token"]


def staff_token(served) -> str:
    """The operator's superuser, made once per instance with createsuperuser --noinput."""
    cached = getattr(served, "_journey_staff_token", None)
    if cached:
        return cached
    result = served.manage(
        "createsuperuser",
        "--noinput",
        env={"DJANGO_SUPERUSER_EMAIL": STAFF_EMAIL, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0 or "already" in result.stderr, result.stderr
    token = sign_in(served, STAFF_EMAIL)["token"]
    served._journey_staff_token = token
    return token


def categories(served) -> dict[str, str]:
    """slug -> id of the demo category tree (loaded by populatedb once per instance)."""
    cached = getattr(served, "_journey_categories", None)
    if cached:
        return cached
    result = served.manage("populatedb", "--only", "categories", "--no-progress")
    assert result.returncode == 0, result.stderr
    data = call(served, "query Categories { categories { id slug } }")
    served._journey_categories = {c["slug"]: c["id"] for c in data["categories"]}
    return served._journey_categories


def configure_tracking_secret(served, staff: str) -> None:
    if getattr(served, "_journey_tracking", False):
        return
    mutate(
        served,
        """mutation Secret($id: ID!, $input: PluginUpdateInput!) { pluginUpdate(id: $id, input: $input) { errors { field code message } } }""",
        {"id": TABLE_RATE, "input": {"configuration": [{"name": "webhook_secret", "value": TRACKING_SECRET}]}},
        token=staff,
    )
    served._journey_tracking = True


# --- merchants ---

APPLY = f"""
mutation Apply($input: VendorApplicationCreateInput!) {{
  vendorApplicationCreate(input: $input) {{
    vendorApplication {{ id status documents {{ documentType contentType size url }} }} {ERRORS}
  }}
}}"""
APPROVE = f"""
mutation Approve($id: ID!) {{
  vendorApplicationApprove(id: $id) {{
    vendorApplication {{ status vendor {{ id slug status }} auditLog {{ action actorEmail }} }} {ERRORS}
  }}
}}"""
FEE_PLAN = f"""
mutation Plan($category: ID!, $input: CategoryFeePlanInput!) {{
  categoryFeePlanUpdate(category: $category, input: $input) {{ feePlan {{ id }} {ERRORS} }}
}}"""
PAY_FEE = f"""
mutation PayFee($vendor: ID!) {{
  vendorEntryFeePay(vendor: $vendor) {{ payment {{ id status amount {{ amount }} }} vendor {{ status }} {ERRORS} }}
}}"""
TOP_UP = f"""
mutation TopUp($vendor: ID!) {{
  vendorDepositTopUp(vendor: $vendor) {{ payment {{ id status amount {{ amount }} }} vendor {{ status }} {ERRORS} }}
}}"""
PRODUCT_CREATE = f"""
mutation List($input: ProductCreateInput!) {{
  productCreate(input: $input) {{ product {{ id slug status variants {{ id sku }} }} {ERRORS} }}
}}"""
MEDIA_CREATE = f"""
mutation Picture($product: ID!, $image: Upload!) {{
  productMediaCreate(product: $product, image: $image) {{ media {{ id width height }} {ERRORS} }}
}}"""
SUBMIT = f"""mutation Submit($id: ID!) {{ productSubmitForReview(id: $id) {{ product {{ status }} {ERRORS} }} }}"""
PRODUCT_APPROVE = f"""mutation Publish($id: ID!) {{ productApprove(id: $id) {{ product {{ status }} {ERRORS} }} }}"""
BALANCE = """
query Balance($vendor: ID!) {
  vendorBalance(vendor: $vendor) { pending { amount } available { amount } deposit { amount } }
}"""
LEDGER = """
query Ledger($vendor: ID!) {
  vendorLedger(vendor: $vendor, first: 100) {
    totalCount
    edges { node { account amount { amount } transaction { id kind referenceType referenceId } } }
  }
}"""


@dataclass
class Store:
    name: str
    owner_email: str
    owner_token: str
    vendor_id: str
    slug: str
    application: dict
    fee_payment: dict
    deposit_payment: dict
    variants: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)


def fee_plans(served, staff, category_id, *, annual_fee="1000.00", deposit="2000.00", rate="0.05") -> None:
    key = ("_journey_plan", category_id)
    done = getattr(served, "_journey_plans", set())
    if key in done:
        return
    mutate(
        served,
        FEE_PLAN,
        {"category": category_id, "input": {"annualFee": annual_fee, "depositAmount": deposit, "commissionRate": rate}},
        token=staff,
    )
    done.add(key)
    served._journey_plans = done


def open_store(served, staff: str, category_id: str, name: str, *, pay: bool = True) -> Store:
    """A merchant applies with a licence (multipart), staff approve, the owner pays fee and deposit."""
    email = f"{unique('owner')}@{name.lower().replace(' ', '-')}.example.com"
    token = register(served, email)
    variables = {
        "input": {
            "storeName": name,
            "companyName": f"{name} Co., Ltd.",
            "contactEmail": email,
            "categories": [category_id],
            "documents": [{"documentType": "BUSINESS_LICENSE", "file": None}],
        }
    }
    application = mutate(
        served,
        APPLY,
        variables,
        token=token,
        files={"variables.input.documents.0.file": ("licence.pdf", minimal_pdf([f"LICENCE {name}"]), "application/pdf")},
    )["vendorApplication"]
    approved = mutate(served, APPROVE, {"id": application["id"]}, token=staff)["vendorApplication"]
    vendor = approved["vendor"]
    fee = mutate(served, PAY_FEE, {"vendor": vendor["id"]}, token=token) if pay else {}
    deposit = mutate(served, TOP_UP, {"vendor": vendor["id"]}, token=token) if pay else {}
    return Store(
        name=name,
        owner_email=email,
        owner_token=token,
        vendor_id=vendor["id"],
        slug=vendor["slug"],
        application={**application, "approved": approved},
        fee_payment=fee,
        deposit_payment=deposit,
    )


def list_product(served, staff: str, store: Store, category_id: str, *, name: str, price: str, stock=50) -> str:
    """The owner lists a product with a picture; it passes the checks and staff approve it."""
    product = mutate(
        served,
        PRODUCT_CREATE,
        {
            "input": {
                "category": category_id,
                "name": name,
                "description": f"{name}, sold by {store.name}.",
                "variants": [{"sku": unique("SKU"), "price": price, "stock": stock, "weight": "0.500"}],
            }
        },
        token=store.owner_token,
    )["product"]
    mutate(
        served,
        MEDIA_CREATE,
        {"product": product["id"], "image": None},
        token=store.owner_token,
        files={"variables.image": ("photo.jpg", jpeg(), "image/jpeg")},
    )
    assert mutate(served, SUBMIT, {"id": product["id"]}, token=store.owner_token)["product"]["status"] == "PENDING_REVIEW"
    assert mutate(served, PRODUCT_APPROVE, {"id": product["id"]}, token=staff)["product"]["status"] == "PUBLISHED"
    store.products.append(product["id"])
    store.variants.append(product["variants"][0]["id"])
    return product["variants"][0]["id"]


# --- shoppers ---

CHECKOUT_CREATE = f"""
mutation Cart($input: CheckoutCreateInput!) {{
  checkoutCreate(input: $input) {{
    checkout {{ id packages {{ vendor {{ id name }} shippingQuotes {{ carrier serviceCode amount {{ amount }} }} }}
               totalPrice {{ amount currency }} problems {{ code }} }}
    {ERRORS}
  }}
}}"""
CHECKOUT_SHIPPING = f"""
mutation Ship($checkout: ID!, $vendor: ID!) {{
  checkoutShippingMethodUpdate(id: $checkout, vendor: $vendor, carrier: "{TABLE_RATE}", serviceCode: "economy") {{
    checkout {{ totalPrice {{ amount }} problems {{ code }} }} {ERRORS}
  }}
}}"""
CHECKOUT_COMPLETE = f"""
mutation Pay($checkout: ID!, $token: String!) {{
  checkoutComplete(id: $checkout, payment: {{gateway: "dummy", token: $token}}) {{
    orders {{ id number status paymentStatus vendor {{ id name }} total {{ amount currency }} lines {{ id }} }}
    payment {{ id status total {{ amount currency }} }}
    {ERRORS}
  }}
}}"""


def ready_checkout(served, shopper_token: str, email: str, lines: list[tuple[str, int]]) -> dict:
    checkout = mutate(
        served,
        CHECKOUT_CREATE,
        {
            "input": {
                "email": email,
                "lines": [{"variantId": variant, "quantity": quantity} for variant, quantity in lines],
                "shippingAddress": {
                    "region": SHANGHAI,
                    "streetAddress1": "1 Nanjing Road",
                    "firstName": "Li",
                    "lastName": "Lei",
                    "phone": "13800000000",
                },
            }
        },
        endpoint="storefront",
        token=shopper_token,
    )["checkout"]
    for package in checkout["packages"]:
        mutate(
            served,
            CHECKOUT_SHIPPING,
            {"checkout": checkout["id"], "vendor": package["vendor"]["id"]},
            endpoint="storefront",
            token=shopper_token,
        )
    return checkout


def complete_checkout(served, shopper_token, checkout_id, token="success") -> tuple[int, dict]:
    return served.graphql(
        CHECKOUT_COMPLETE, {"checkout": checkout_id, "token": token}, endpoint="storefront", token=shopper_token
    )


def ledger(served, staff, vendor_id) -> list[dict]:
    return [edge["node"] for edge in call(served, LEDGER, {"vendor": vendor_id}, token=staff)["vendorLedger"]["edges"]]


def balance(served, token, vendor_id) -> dict:
    data = call(served, BALANCE, {"vendor": vendor_id}, token=token)["vendorBalance"]
    return {key: value["amount"] for key, value in data.items()}


def shopper(served) -> tuple[str, str]:
    """A new shopper signed in on the storefront: (token, email)."""
    email = f"{unique('shopper')}@example.com"
    return register(served, email, endpoint="storefront"), email


def paid_order(served, store: Store, *, quantity: int = 1, variant: str | None = None) -> tuple[str, dict]:
    """A new shopper buys from one store: (shopper token, the paid order)."""
    token, email = shopper(served)
    checkout = ready_checkout(served, token, email, [(variant or store.variants[0], quantity)])
    status, body = complete_checkout(served, token, checkout["id"])
    assert status == 200 and not body.get("errors"), body
    payload = body["data"]["checkoutComplete"]
    assert payload["errors"] == [], payload
    (order,) = payload["orders"]
    return token, order


def kinds(entries: list[dict], kind: str) -> list[dict]:
    return [e for e in entries if e["transaction"]["kind"] == kind]


# --- orders, disputes, money ---

ORDER_SHIP = f"""
mutation Ship($order: ID!) {{
  orderShip(id: $order, input: {{carrier: "{TABLE_RATE}"}}) {{
    order {{ id status shipment {{ trackingNumber status }} }} {ERRORS}
  }}
}}"""
SHOPPER_ORDER = """
query Order($id: ID!) {
  order(id: $id) { status paymentStatus shipments { trackingNumber status events { status } } }
}"""
CONFIRM = f"""
mutation Confirm($order: ID!) {{ orderConfirmReceipt(id: $order) {{ order {{ status paymentStatus }} {ERRORS} }} }}"""
DISPUTE_OPEN = f"""
mutation Dispute($order: ID!, $input: DisputeOpenInput!) {{
  disputeOpen(order: $order, input: $input) {{ dispute {{ id status }} {ERRORS} }}
}}"""
DISPUTE_RESPOND = f"""
mutation Answer($id: ID!) {{
  disputeRespond(id: $id, input: {{accept: false, message: "The dates left in perfect condition."}}) {{
    dispute {{ id status }} {ERRORS}
  }}
}}"""
DISPUTE_ESCALATE = f"""
mutation Escalate($id: ID!) {{ disputeEscalate(id: $id, message: "Please decide.") {{ dispute {{ status }} {ERRORS} }} }}"""
DISPUTE_RESOLVE = """
mutation Rule($id: ID!) {
  disputeResolve(id: $id, input: {outcome: REFUND_PARTIAL, refundAmount: "30.00", note: "Half of the claim."}) {
    dispute { id status refunded { amount } ruling { outcome amount { amount } } }
    errors { field code message }
  }
}"""
PAYOUT = f"""
mutation PayOut($vendor: ID!) {{
  payoutCreate(vendor: $vendor, amount: "150.00") {{ payout {{ id status amount {{ amount }} }} {ERRORS} }}
}}"""
STATEMENT = """
query Statement($vendor: ID!, $from: Date!, $to: Date!) {
  vendorStatement(vendor: $vendor, from: $from, to: $to) {
    openingBalance { amount } closingBalance { amount } lines { kind balance { amount } } csvUrl pdfUrl
  }
}"""


def track(served, tracking_number: str, status: str, event_id: str, occurred_at: datetime | None = None) -> tuple[int, dict]:
    body = json.dumps(
        {
            "events": [
                {
                    "id": event_id,
                    "tracking_number": tracking_number,
                    "status": status,
                    "occurred_at": (occurred_at or datetime.now(ZoneInfo("Asia/Shanghai"))).isoformat(),
                    "location": "Shanghai",
                }
            ]
        }
    ).encode()
    code, _headers, content = served.post(
        f"/webhooks/carriers/{TABLE_RATE}/tracking/",
        body,
        {"Content-Type": "application/json", "X-Carrier-Signature": tracking_signature(body)},
    )
    return code, json.loads(content)
