"""Every operation of both APIs, classified; the owner-scoped ones with the IDs to attack.

A new operation fails tests/security/test_coverage.py until it is added here as one of:

- PUBLIC: no tenant's data in or out (reference data, published listings); anyone may call it.
- SELF: acts on the caller's own account, or creates something new that the caller owns; it takes
  no ID of an existing object (tokens and registration are tested in test_tokens.py).
- STAFF: platform staff holding one permission, nobody else (STAFF_CASES, with the arguments).
- OWNED: takes the ID of a tenant's object; its owner (and staff holding one of the listed
  permissions) may, everyone else gets NOT_FOUND / PERMISSION_DENIED or nothing (OWNED_CASES).
- LIST: lists scoped to the caller (LIST_CASES): nobody sees another tenant's rows in them.
The core API's `node` query is attacked type by type (NODE_CASES).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission as P

from ..catalog.helpers import upload as image_upload
from ..checkout.helpers import TABLE_RATE
from .operations import Op
from .world import World

DENIED = {"NOT_FOUND", "PERMISSION_DENIED"}

# Who attacks a tenant's objects, per API (staff without the permission: test_staff_permissions.py).
CORE_ATTACKERS = ("bravo_owner", "shopper2", "anonymous")
# On the storefront the seller and all-powerful staff are strangers to a shopper's orders too.
STOREFRONT_ATTACKERS = ("shopper2", "anonymous", "alpha_owner", "superuser")

MV, RL, MF, AD, MO, MP, MS = (
    P.MANAGE_VENDORS, P.REVIEW_LISTINGS, P.MANAGE_FINANCE, P.ARBITRATE_DISPUTES, P.MANAGE_ORDERS,
    P.MANAGE_PLUGINS, P.MANAGE_STAFF,
)


def g(type_name: str, obj) -> str:
    return to_global_id(type_name, obj.pk)


def core(kind: str, name: str) -> Op:
    return Op("core", kind, name)


def shop(kind: str, name: str) -> Op:
    return Op("storefront", kind, name)


@dataclass
class Case:
    op: Op
    variables: Callable[[World], dict]
    label: str = ""
    victim: str = "alpha"  # whose data: a tenant key, "shopper1", or "charlie" (the pending applicant)
    legit: tuple[str, ...] = ("alpha_owner",)  # may do it (may still fail on business rules)
    staff: tuple[P, ...] = ()  # platform permissions that also allow it
    attackers: tuple[str, ...] | None = None
    denied_roles: tuple[str, ...] = ()  # the tenant's own staff without the role for it
    files: Callable[[World], dict] | None = None
    expect: str = "payload"  # payload (mutation errors) | object (null) | list (no rows) | quote
    depth: int = 1  # levels of fields asked for (a refused call must show none of them)

    @property
    def id(self) -> str:
        return f"{self.op}" + (f"[{self.label}]" if self.label else "")

    def attackers_(self) -> tuple[str, ...]:
        if self.attackers is not None:
            return self.attackers
        return CORE_ATTACKERS if self.op.api == "core" else STOREFRONT_ATTACKERS


def q(name, variables, **kw) -> Case:
    kw.setdefault("expect", "object")
    return Case(core("query", name), variables, **kw)


def m(name, variables, **kw) -> Case:
    return Case(core("mutation", name), variables, **kw)


def sq(name, variables, **kw) -> Case:
    kw.setdefault("expect", "object")
    kw.setdefault("victim", "shopper1")
    kw.setdefault("legit", ("shopper1",))
    return Case(shop("query", name), variables, **kw)


def sm(name, variables, **kw) -> Case:
    kw.setdefault("victim", "shopper1")
    kw.setdefault("legit", ("shopper1",))
    return Case(shop("mutation", name), variables, **kw)


A = lambda w: w.alpha  # noqa: E731
STAFF_ON_VENDOR = ("alpha_owner", "alpha_operator", "alpha_agent")
CHARLIE = dict(victim="charlie", legit=("applicant",), attackers=("bravo_owner", "alpha_owner", "shopper2", "anonymous"))
MONTH = {"from": date.today().replace(day=1).isoformat(), "to": date.today().isoformat()}


def _published(w):
    return w.alpha.products["published"]


def _draft(w):
    return w.alpha.products["draft"]


HOOKS = ("alpha_owner", "alpha_operator")
HOOK_ATTACKERS = (*CORE_ATTACKERS, "alpha_agent")
HOOK_PLANTED = "http://127.0.0.1:9/planted"


def _address():
    return {"region": "310000", "streetAddress1": "9 Intruder Road", "firstName": "Eve", "city": "Shanghai"}


OWNED_CASES: list[Case] = [
    # --- vendors ---
    q("vendorApplication", lambda w: {"id": g("VendorApplication", A(w).application)}, staff=(MV,)),
    q("vendorApplication", lambda w: {"id": g("VendorApplication", w.pending_application)}, label="pending",
      staff=(MV,), **CHARLIE),
    q("vendor", lambda w: {"id": g("Vendor", A(w).vendor)}, legit=STAFF_ON_VENDOR, staff=(MV, MF)),
    q("vendor", lambda w: {"slug": A(w).vendor.slug}, label="slug", legit=STAFF_ON_VENDOR, staff=(MV, MF)),
    m("vendorApplicationUpdate", lambda w: {"id": g("VendorApplication", w.pending_application),
                                            "input": {"description": "Edited by someone else"}}, **CHARLIE),
    m("vendorUpdate", lambda w: {"id": g("Vendor", A(w).vendor), "input": {"description": "Defaced"}},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",), staff=(MV,)),
    m("vendorStaffInvite", lambda w: {"vendor": g("Vendor", A(w).vendor), "email": w.shopper2.email, "role": "OWNER"},
      denied_roles=("alpha_operator", "alpha_agent"), staff=(MV,)),
    # Invitations are seen by the owner only: the store's other staff are answered NOT_FOUND.
    m("vendorStaffInvitationRevoke", lambda w: {"id": g("VendorStaffInvitation", A(w).invitation)},
      attackers=(*CORE_ATTACKERS, "alpha_operator", "alpha_agent"), staff=(MV,)),
    m("vendorStaffRemove", lambda w: {"id": g("VendorStaff", A(w).operator_membership)},
      denied_roles=("alpha_operator", "alpha_agent"), staff=(MV,)),
    m("vendorClose", lambda w: {"id": g("Vendor", A(w).vendor), "reason": "Closed by someone else"},
      denied_roles=("alpha_operator", "alpha_agent"), staff=(MV,)),
    # --- payments and money ---
    q("payment", lambda w: {"id": g("Payment", A(w).fee_payment)}, staff=(MF, MO)),
    q("payment", lambda w: {"id": g("Payment", A(w).order_unshipped.payment)}, label="checkout",
      victim="shopper1", legit=("shopper1",), staff=(MF, MO),
      attackers=("alpha_owner", "bravo_owner", "shopper2", "anonymous")),
    q("vendorBalance", lambda w: {"vendor": g("Vendor", A(w).vendor)}, legit=STAFF_ON_VENDOR, staff=(MF,)),
    q("vendorLedger", lambda w: {"vendor": g("Vendor", A(w).vendor), "first": 50}, legit=STAFF_ON_VENDOR,
      staff=(MF,)),
    q("vendorStatement", lambda w: {"vendor": g("Vendor", A(w).vendor), **MONTH}, legit=STAFF_ON_VENDOR,
      staff=(MF,)),
    q("vendorCommissionOverrides", lambda w: {"vendor": g("Vendor", A(w).vendor)}, legit=STAFF_ON_VENDOR,
      staff=(MF,)),
    q("payout", lambda w: {"id": g("Payout", A(w).payout)}, legit=STAFF_ON_VENDOR, staff=(MF,)),
    q("payouts", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(MF,), expect="list"),
    m("vendorEntryFeePay", lambda w: {"vendor": g("Vendor", A(w).vendor), "token": "success"},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",), staff=(MF,)),
    m("vendorDepositTopUp", lambda w: {"vendor": g("Vendor", A(w).vendor), "amount": "10.00", "token": "success"},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",), staff=(MF,)),
    m("payoutCreate", lambda w: {"vendor": g("Vendor", A(w).vendor)},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",), staff=(MF,)),
    # --- orders and shipping ---
    q("order", lambda w: {"id": g("Order", A(w).order_unshipped)}, legit=STAFF_ON_VENDOR, staff=(MO,)),
    q("orders", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(MO,), expect="list"),
    m("orderShip", lambda w: {"id": g("Order", A(w).order_unshipped), "input": {"carrier": TABLE_RATE}},
      legit=STAFF_ON_VENDOR, staff=(MO,)),
    m("orderCancel", lambda w: {"id": g("Order", A(w).order_unshipped), "reason": "Cancelled by someone else"},
      legit=STAFF_ON_VENDOR, staff=(MO,)),
    q("shipment", lambda w: {"id": g("Shipment", A(w).shipment)}, legit=STAFF_ON_VENDOR, staff=(MO,)),
    q("shipments", lambda w: {"reference": str(A(w).order_disputed.pk), "first": 50}, label="reference",
      legit=STAFF_ON_VENDOR, staff=(MO,), expect="list"),
    q("shippingQuote", lambda w: {"input": {"origin": "330100", "destination": "310000", "parcels": [{"weight": "1"}],
                                            "vendor": g("Vendor", A(w).vendor)}},
      legit=STAFF_ON_VENDOR, staff=(MV, MF), expect="quote"),
    m("shipmentCancel", lambda w: {"id": g("Shipment", A(w).shipment), "reason": "Cancelled by someone else"},
      legit=STAFF_ON_VENDOR, staff=(MO,)),
    m("shipmentTrackingRefresh", lambda w: {"id": g("Shipment", A(w).shipment)}, legit=STAFF_ON_VENDOR, staff=(MO,)),
    # --- disputes ---
    q("dispute", lambda w: {"id": g("Dispute", A(w).dispute)}, legit=STAFF_ON_VENDOR, staff=(AD,)),
    q("disputes", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(AD,), expect="list"),
    q("vendorDisputeStats", lambda w: {"vendor": g("Vendor", A(w).vendor)}, legit=STAFF_ON_VENDOR,
      staff=(AD, MV, MF)),
    m("disputeRespond", lambda w: {"id": g("Dispute", A(w).dispute),
                                   "input": {"accept": False, "message": "Rejected by someone else"}},
      legit=STAFF_ON_VENDOR),
    m("disputeReturnReceived", lambda w: {"id": g("Dispute", A(w).dispute)}, legit=STAFF_ON_VENDOR, staff=(AD,)),
    m("disputeEscalate", lambda w: {"id": g("Dispute", A(w).dispute), "message": "Escalated by someone else"},
      legit=STAFF_ON_VENDOR, staff=(AD,)),
    m("disputeMessageAdd", lambda w: {"id": g("Dispute", A(w).dispute), "input": {"body": "Planted message"}},
      legit=STAFF_ON_VENDOR, staff=(AD,)),
    # --- catalog ---
    q("product", lambda w: {"id": g("Product", _draft(w))}, legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    q("product", lambda w: {"id": g("Product", _published(w))}, label="published", legit=STAFF_ON_VENDOR,
      staff=(RL, MV)),
    q("products", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(RL, MV), expect="list"),
    m("productCreate", lambda w: {"input": {
        "vendor": g("Vendor", A(w).vendor), "category": g("Category", w.categories["tshirts"]), "name": "Planted Tee",
        "variants": [{"sku": "PLANTED-1", "price": "1.00", "stock": 1,
                      "attributes": [{"attribute": "size", "value": "M"}]}]}},
      legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productUpdate", lambda w: {"id": g("Product", _draft(w)), "input": {"name": "Defaced Tee"}},
      legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productDelete", lambda w: {"id": g("Product", _draft(w))}, legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productVariantCreate", lambda w: {"product": g("Product", _draft(w)), "input": {
        "sku": "PLANTED-2", "price": "1.00", "attributes": [{"attribute": "size", "value": "S"}]}},
      legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productVariantUpdate", lambda w: {"id": g("ProductVariant", A(w).draft_variant), "input": {"price": "0.01"}},
      legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productVariantDelete", lambda w: {"id": g("ProductVariant", A(w).draft_variant)}, legit=STAFF_ON_VENDOR,
      staff=(RL, MV)),
    m("productMediaCreate", lambda w: {"product": g("Product", _draft(w)), "image": None},
      files=lambda w: {"variables.image": image_upload("planted.png")}, legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productMediaDelete", lambda w: {"id": g("ProductMedia", A(w).draft_media)}, legit=STAFF_ON_VENDOR,
      staff=(RL, MV)),
    m("productMediaReorder", lambda w: {"product": g("Product", A(w).draft_media.product),
                                        "media": [g("ProductMedia", x) for x in A(w).draft_media.product.media.all()][::-1]},
      legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productSubmitForReview", lambda w: {"id": g("Product", _draft(w))}, legit=STAFF_ON_VENDOR, staff=(RL, MV)),
    m("productDelist", lambda w: {"id": g("Product", _published(w)), "reason": "Delisted by someone else"},
      legit=STAFF_ON_VENDOR, staff=(RL,)),
    # --- storefront: a shopper's checkout, orders and disputes ---
    sq("checkout", lambda w: {"id": to_global_id("Checkout", w.checkout.pk)}),
    sq("order", lambda w: {"id": g("Order", A(w).order_unshipped)}),
    sq("dispute", lambda w: {"id": g("Dispute", A(w).dispute)}),
    sq("disputes", lambda w: {"order": g("Order", A(w).order_disputed), "first": 50}, label="order",
       expect="list"),
    sm("checkoutLinesAdd", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                      "lines": [{"variantId": g("ProductVariant", A(w).variant), "quantity": 3}]}),
    sm("checkoutLinesUpdate", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                         "lines": [{"variantId": g("ProductVariant", A(w).variant), "quantity": 0}]}),
    sm("checkoutLinesDelete", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                         "linesIds": [g("CheckoutLine", w.checkout.lines.first())]}),
    sm("checkoutEmailUpdate", lambda w: {"id": to_global_id("Checkout", w.checkout.pk), "email": "eve@example.com"}),
    sm("checkoutShippingAddressUpdate", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                                   "address": _address()}),
    sm("checkoutShippingMethodUpdate", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                                  "vendor": g("Vendor", A(w).vendor), "carrier": TABLE_RATE}),
    sm("checkoutComplete", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                      "payment": {"gateway": "dummy", "token": "success"}}),
    sm("checkoutPaymentCreate", lambda w: {"id": to_global_id("Checkout", w.checkout.pk), "gateway": "dummy"}),
    sm("disputeOpen", lambda w: {"order": g("Order", A(w).order_unshipped), "input": {
        "reason": "NOT_AS_DESCRIBED", "description": "Opened by someone else", "requestedAmount": "10.00"}}),
    sm("disputeMessageAdd", lambda w: {"id": g("Dispute", A(w).dispute), "input": {"body": "Planted message"}}),
    sm("disputeEscalate", lambda w: {"id": g("Dispute", A(w).dispute), "message": "Escalated by someone else"}),
    sm("disputeWithdraw", lambda w: {"id": g("Dispute", A(w).dispute), "message": "Withdrawn by someone else"}),
    sm("disputeReturnShip", lambda w: {"id": g("Dispute", A(w).dispute), "carrier": TABLE_RATE,
                                       "trackingNumber": "EVE000001"}),
    sm("orderConfirmReceipt", lambda w: {"id": g("Order", A(w).order_disputed)}),
    sm("orderExtendConfirmation", lambda w: {"id": g("Order", A(w).order_disputed)}),
    sm("orderCancel", lambda w: {"id": g("Order", A(w).order_unshipped), "reason": "Cancelled by someone else"}),
    sm("checkoutVoucherApply", lambda w: {"id": to_global_id("Checkout", w.checkout.pk), "code": "BRAVO5"}),
    sm("checkoutVoucherRemove", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                           "voucher": g("Voucher", A(w).voucher)}),
    sq("bestVouchers", lambda w: {"checkout": to_global_id("Checkout", w.checkout.pk)}, expect="list"),
    # --- members: points are used on the shopper's own checkout only ---
    sm("checkoutPointsUse", lambda w: {"id": to_global_id("Checkout", w.checkout.pk), "points": None}),
    # A voucher that is not a coupon is not claimed by its ID (its code is the store's to hand out).
    sm("couponClaim", lambda w: {"voucher": g("Voucher", A(w).secret_voucher)}, label="code only", legit=(),
       victim="alpha", attackers=("shopper1", *STOREFRONT_ATTACKERS)),
    sm("couponClaim", lambda w: {"voucher": g("Voucher", w.platform_voucher)}, label="coupon", legit=("shopper2",),
       attackers=()),
    # --- promotions: a store's vouchers are its own; platform vouchers are finance staff's ---
    q("voucher", lambda w: {"id": g("Voucher", A(w).voucher)}, legit=STAFF_ON_VENDOR, staff=(MF,)),
    q("voucher", lambda w: {"id": g("Voucher", w.platform_voucher)}, label="platform", legit=(), staff=(MF,),
      attackers=("alpha_owner", *CORE_ATTACKERS)),
    q("vouchers", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(MF,), expect="list"),
    m("voucherCreate", lambda w: {"vendor": g("Vendor", A(w).vendor), "input": _voucher_input("Planted")},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",), staff=(MF,)),
    # Only finance staff spend the platform's money: a store cannot make the platform fund its voucher.
    m("voucherCreate", lambda w: {"input": {**_voucher_input("Platform paid"), "platformSharePercent": "100"}},
      label="platform share", legit=(), staff=(MF,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    m("voucherUpdate", lambda w: {"id": g("Voucher", A(w).voucher), "input": {"name": "Defaced", "value": "49"}},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",), staff=(MF,)),
    m("voucherUpdate", lambda w: {"id": g("Voucher", A(w).voucher), "input": {"platformSharePercent": "100"}},
      label="platform share", legit=(), staff=(MF,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    m("voucherUpdate", lambda w: {"id": g("Voucher", w.platform_voucher), "input": {"value": "140"}},
      label="platform", legit=(), staff=(MF,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    q("flashSale", lambda w: {"id": g("FlashSale", A(w).flash_sale)}, legit=STAFF_ON_VENDOR, staff=(MF,)),
    q("flashSales", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(MF,), expect="list"),
    # A flash sale is the store's own price: its owner and operators set it, platform staff only see it.
    m("flashSaleCreate", lambda w: {"variant": g("ProductVariant", A(w).products["revised"].variants.first()),
                                    "input": {"price": "1.00", "quantity": 100, "startsAt": "2030-01-01T00:00:00+08:00",
                                              "endsAt": "2030-01-02T00:00:00+08:00"}},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",)),
    m("flashSaleUpdate", lambda w: {"id": g("FlashSale", A(w).flash_sale), "input": {"price": "1.00"}},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",)),
    q("groupDeal", lambda w: {"id": g("GroupDeal", A(w).group_deal)}, legit=STAFF_ON_VENDOR, staff=(MF,)),
    q("groupDeals", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(MF,), expect="list"),
    # A group deal is the store's own price too: its owner and operators set it, platform staff only see it.
    m("groupDealCreate", lambda w: {"variant": g("ProductVariant", A(w).products["revised"].variants.first()),
                                    "input": {"price": "1.00", "groupSize": 2, "startsAt": "2030-01-01T00:00:00+08:00",
                                              "endsAt": "2030-01-02T00:00:00+08:00"}},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",)),
    m("groupDealUpdate", lambda w: {"id": g("GroupDeal", A(w).group_deal), "input": {"price": "1.00"}},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",)),
    # A shopper's checkout is theirs: nobody else marks it for a group buy or takes the mark off.
    sm("checkoutGroupBuySet", lambda w: {"id": to_global_id("Checkout", w.checkout.pk),
                                         "deal": g("GroupDeal", A(w).group_deal)}),
    sm("checkoutGroupBuyRemove", lambda w: {"id": to_global_id("Checkout", w.checkout.pk)}),
    # --- campaigns: a store enrols its own variants and sees its own enrolments; drafts are campaign staff's ---
    m("campaignEnrol", lambda w: {"campaign": g("Campaign", w.campaign), "variant": g("ProductVariant", A(w).variant),
                                  "price": "1.00", "quantity": 1},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",)),
    m("campaignWithdraw", lambda w: {"id": g("CampaignEnrolment", A(w).enrolment)},
      legit=("alpha_owner", "alpha_operator"), denied_roles=("alpha_agent",)),
    q("campaignEnrolments", lambda w: {"filter": {"vendor": g("Vendor", A(w).vendor)}, "first": 50}, label="filter",
      legit=STAFF_ON_VENDOR, staff=(RL,), expect="list"),
    q("campaign", lambda w: {"id": g("Campaign", w.draft_campaign)}, label="draft", victim="campaigns", legit=(),
      staff=(RL,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    sm("productReviewCreate", lambda w: {"orderLine": g("OrderLine", A(w).order_disputed.lines.first()),
                                         "rating": 1, "comment": "Planted review"}),
    # --- notifications: an inbox is its user's alone, whoever else works at the store or holds staff rights ---
    m("notificationMarkRead", lambda w: {"ids": [g("Notification", A(w).notification)]},
      attackers=(*CORE_ATTACKERS, "alpha_operator", "superuser")),
    sm("notificationMarkRead", lambda w: {"ids": [g("Notification", w.shopper1_notification)]}),
    # A store's webhooks are its owner's and operators' (customer service does not see them) and
    # staff managing plugins'; the platform's are only the latter's.
    m("webhookSubscriptionCreate", lambda w: {"input": {"vendor": g("Vendor", A(w).vendor), "url": HOOK_PLANTED}},
      legit=HOOKS, denied_roles=("alpha_agent",), staff=(MP,)),
    m("webhookSubscriptionCreate", lambda w: {"input": {"url": HOOK_PLANTED}}, label="platform", legit=(),
      staff=(MP,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    m("webhookSubscriptionUpdate", lambda w: {"id": g("WebhookSubscription", A(w).webhook_subscription),
                                              "input": {"url": HOOK_PLANTED, "events": []}},
      legit=HOOKS, staff=(MP,), attackers=HOOK_ATTACKERS),
    m("webhookSubscriptionUpdate", lambda w: {"id": g("WebhookSubscription", w.platform_subscription),
                                              "input": {"url": HOOK_PLANTED}},
      label="platform", victim="platform", legit=(), staff=(MP,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    m("webhookSubscriptionDelete", lambda w: {"id": g("WebhookSubscription", A(w).webhook_subscription)},
      legit=HOOKS, staff=(MP,), attackers=HOOK_ATTACKERS),
    m("webhookSubscriptionDelete", lambda w: {"id": g("WebhookSubscription", w.platform_subscription)},
      label="platform", victim="platform", legit=(), staff=(MP,), attackers=("alpha_owner", *CORE_ATTACKERS)),
    m("webhookSubscriptionTestSend", lambda w: {"id": g("WebhookSubscription", A(w).webhook_subscription)},
      legit=HOOKS, staff=(MP,), attackers=HOOK_ATTACKERS),
    q("webhookDeliveries", lambda w: {"subscription": g("WebhookSubscription", A(w).webhook_subscription), "first": 50},
      label="subscription", legit=HOOKS, staff=(MP,), attackers=HOOK_ATTACKERS, expect="list"),
    q("webhookDeliveries", lambda w: {"subscription": g("WebhookSubscription", w.platform_subscription), "first": 50},
      label="platform", victim="platform", legit=(), staff=(MP,), attackers=("alpha_owner", *CORE_ATTACKERS),
      expect="list"),
    # --- analytics: a store's staff see their store's figures, finance (or analytics) staff every store's ---
    q("analytics", lambda w: {"vendor": g("Vendor", A(w).vendor), **MONTH}, legit=STAFF_ON_VENDOR, staff=(MF,)),
    # --- favourites and restock alerts: only what shoppers may see can be saved or waited for ---
    sm("favouriteAdd", lambda w: {"product": g("Product", _draft(w))}, label="draft", legit=(), victim="alpha",
       attackers=("shopper1", *STOREFRONT_ATTACKERS)),
    sm("favouriteAdd", lambda w: {"product": g("Product", _published(w))}, label="published", legit=("shopper2",),
       attackers=("anonymous",)),
    sm("favouriteRemove", lambda w: {"product": g("Product", _draft(w))}, label="draft", legit=(), victim="alpha",
       attackers=("shopper1", *STOREFRONT_ATTACKERS)),
    sm("favouriteRemove", lambda w: {"product": g("Product", _published(w))}, label="published", legit=("shopper1",),
       attackers=("anonymous",)),
    sm("restockAlertSubscribe", lambda w: {"variant": g("ProductVariant", A(w).draft_variant)}, label="draft",
       legit=(), victim="alpha", attackers=("shopper1", *STOREFRONT_ATTACKERS)),
    sm("restockAlertSubscribe", lambda w: {"variant": g("ProductVariant", A(w).soldout_variant)}, label="sold out",
       legit=("shopper2",), attackers=("anonymous",)),
    sm("restockAlertUnsubscribe", lambda w: {"variant": g("ProductVariant", A(w).draft_variant)}, label="draft",
       legit=(), victim="alpha", attackers=("shopper1", *STOREFRONT_ATTACKERS)),
    sm("restockAlertUnsubscribe", lambda w: {"variant": g("ProductVariant", A(w).soldout_variant)}, label="sold out",
       legit=("shopper1",), attackers=("anonymous",)),
]

def _voucher_input(name: str) -> dict:
    return {"name": name, "kind": "AMOUNT_OFF", "value": "50", "minSpend": "60", "code": name.upper().replace(" ", "")}


# Staff-only operations: the permission, and arguments naming real objects of the world.
STAFF_CASES: list[Case] = [
    m("vendorApplicationApprove", lambda w: {"id": g("VendorApplication", w.pending_application)}, staff=(MV,),
      victim="charlie"),
    m("vendorApplicationReject", lambda w: {"id": g("VendorApplication", w.pending_application),
                                            "reason": "Not today"}, staff=(MV,), victim="charlie"),
    m("vendorApplicationRequestInfo", lambda w: {"id": g("VendorApplication", w.pending_application),
                                                 "message": "More please"}, staff=(MV,), victim="charlie"),
    m("vendorActivate", lambda w: {"id": g("Vendor", A(w).vendor)}, staff=(MV,)),
    m("vendorSuspend", lambda w: {"id": g("Vendor", A(w).vendor), "reason": "Counterfeits"}, staff=(MV,)),
    m("vendorReinstate", lambda w: {"id": g("Vendor", A(w).vendor)}, staff=(MV,)),
    m("vendorCloseComplete", lambda w: {"id": g("Vendor", A(w).vendor)}, staff=(MV,)),
    m("pluginUpdate", lambda w: {"id": TABLE_RATE, "input": {"active": False}}, staff=(MP,)),
    m("disputeResolve", lambda w: {"id": g("Dispute", A(w).dispute), "input": {"outcome": "REJECT", "note": "No"}},
      staff=(AD,)),
    m("categoryFeePlanUpdate", lambda w: {"category": g("Category", w.categories["apparel"]),
                                          "input": {"commissionRate": "0.50"}}, staff=(MF,)),
    m("vendorCommissionOverride", lambda w: {"vendor": g("Vendor", A(w).vendor), "rate": "0.50"}, staff=(MF,)),
    m("vendorDepositDeduct", lambda w: {"vendor": g("Vendor", A(w).vendor), "amount": "10.00",
                                        "reason": "Penalty"}, staff=(MF,)),
    m("vendorDepositDeduct", lambda w: {"vendor": g("Vendor", A(w).vendor), "amount": "10.00", "reason": "Penalty",
                                        "dispute": g("Dispute", A(w).dispute)}, label="dispute", staff=(MF, AD)),
    m("productApprove", lambda w: {"id": g("Product", A(w).products["pending"])}, staff=(RL,)),
    m("productReject", lambda w: {"id": g("Product", A(w).products["pending"]), "reason": "Blurry"}, staff=(RL,)),
    m("staffCreate", lambda w: {"input": {"email": "new-staff@platform.example", "password": "Correct-Horse-43"}},
      staff=(MS,)),
    m("permissionGroupCreate", lambda w: {"name": "Planted group", "permissions": []}, staff=(MS,)),
    m("permissionGroupUpdate", lambda w: {"id": g("PermissionGroup", w.group), "name": "Renamed"}, staff=(MS,)),
    m("campaignCreate", lambda w: {"input": {"name": "Planted campaign", "startsAt": "2030-11-11T00:00:00+08:00",
                                             "endsAt": "2030-11-12T00:00:00+08:00"}}, staff=(RL,), victim="campaigns"),
    m("campaignUpdate", lambda w: {"id": g("Campaign", w.draft_campaign), "input": {"name": "Defaced"}}, staff=(RL,),
      victim="campaigns"),
    m("campaignOpen", lambda w: {"id": g("Campaign", w.draft_campaign)}, staff=(RL,), victim="campaigns"),
    m("campaignCancel", lambda w: {"id": g("Campaign", w.draft_campaign)}, staff=(RL,), victim="campaigns"),
    m("campaignEnrolmentApprove", lambda w: {"id": g("CampaignEnrolment", A(w).enrolment)}, staff=(RL,)),
    m("campaignEnrolmentReject", lambda w: {"id": g("CampaignEnrolment", A(w).enrolment), "reason": "No"},
      staff=(RL,)),
    q("plugins", lambda w: {}, staff=(MP,)),
    q("plugin", lambda w: {"id": TABLE_RATE}, staff=(MP,)),
    q("platformRevenue", lambda w: dict(MONTH), staff=(MF,)),
    q("pointsReport", lambda w: dict(MONTH), staff=(MF,)),
    # Members' points are the platform's liability: finance staff list, read and adjust them.
    q("members", lambda w: {"first": 50}, staff=(MF,), expect="list", victim="shopper1"),
    q("member", lambda w: {"id": g("Member", w.member)}, staff=(MF,), victim="shopper1"),
    m("memberPointsAdjust", lambda w: {"member": g("Member", w.member), "points": -500, "reason": "Planted",
                                       "idempotencyKey": "attack"}, staff=(MF,), victim="shopper1"),
    q("reconciliationMismatches", lambda w: {"first": 50}, staff=(MF,), expect="list"),
    q("reviewQueue", lambda w: {"first": 50}, staff=(RL,), expect="list"),
    q("staffUsers", lambda w: {"first": 50}, staff=(MS,), expect="list", depth=3),
    q("permissionGroups", lambda w: {"first": 50}, staff=(MS,), expect="list"),
]
for _case in STAFF_CASES:
    _case.legit = ()


@dataclass
class ListCase:
    """A list scoped to the caller: `legit` finds `marker` (an ID of the victim) in it, nobody else."""

    op: Op
    variables: dict
    marker: Callable[[World], str]
    legit: tuple[str, ...]
    staff: tuple[P, ...] = ()
    victim: str = "alpha"
    attackers: tuple[str, ...] = ("bravo_owner", "bravo_operator", "shopper2", "staff_none", "anonymous")
    depth: int = 3
    label: str = ""

    @property
    def id(self) -> str:
        return str(self.op) + (f"[{self.label}]" if self.label else "")


FIRST = {"first": 100}
LIST_CASES: list[ListCase] = [
    ListCase(core("query", "vendorApplications"), FIRST, lambda w: g("VendorApplication", A(w).application),
             ("alpha_owner",), (MV,)),
    ListCase(core("query", "vendors"), FIRST, lambda w: g("Vendor", A(w).vendor), STAFF_ON_VENDOR, (MV, MF)),
    ListCase(core("query", "orders"), FIRST, lambda w: g("Order", A(w).order_unshipped), STAFF_ON_VENDOR, (MO,)),
    ListCase(core("query", "shipments"), FIRST, lambda w: g("Shipment", A(w).shipment), STAFF_ON_VENDOR, (MO,)),
    ListCase(core("query", "payouts"), FIRST, lambda w: g("Payout", A(w).payout), STAFF_ON_VENDOR, (MF,)),
    ListCase(core("query", "disputes"), FIRST, lambda w: g("Dispute", A(w).dispute), STAFF_ON_VENDOR, (AD,)),
    ListCase(core("query", "products"), FIRST, lambda w: g("Product", A(w).products["draft"]), STAFF_ON_VENDOR,
             (RL, MV)),
    # A search goes through the search backend: its result is narrowed by the same rule.
    ListCase(core("query", "products"), {**FIRST, "filter": {"search": "Alpha Tee"}},
             lambda w: g("Product", A(w).products["draft"]), STAFF_ON_VENDOR, (RL, MV), label="search"),
    ListCase(core("query", "orders"), {**FIRST, "filter": {"status": "PAID"}},
             lambda w: g("Order", A(w).order_unshipped), STAFF_ON_VENDOR, (MO,), label="status"),
    ListCase(core("query", "disputes"), {**FIRST, "filter": {"status": "AWAITING_VENDOR"}},
             lambda w: g("Dispute", A(w).dispute), STAFF_ON_VENDOR, (AD,), label="status"),
    ListCase(core("query", "vouchers"), FIRST, lambda w: g("Voucher", A(w).secret_voucher), STAFF_ON_VENDOR, (MF,)),
    ListCase(core("query", "flashSales"), FIRST, lambda w: g("FlashSale", A(w).flash_sale), STAFF_ON_VENDOR, (MF,)),
    ListCase(core("query", "groupDeals"), FIRST, lambda w: g("GroupDeal", A(w).group_deal), STAFF_ON_VENDOR, (MF,)),
    ListCase(core("query", "campaignEnrolments"), FIRST, lambda w: g("CampaignEnrolment", A(w).enrolment),
             STAFF_ON_VENDOR, (RL,)),
    # Stores see open and live campaigns; a draft is campaign staff's only.
    ListCase(core("query", "campaigns"), FIRST, lambda w: g("Campaign", w.draft_campaign), ("staff_review_listings",),
             (RL,), victim="campaigns",
             attackers=("alpha_owner", "bravo_owner", "shopper2", "staff_none", "staff_manage_finance", "anonymous")),
    # Coupons are the shopper's own: nobody else sees that shopper 1 claimed A's.
    ListCase(shop("query", "myCoupons"), {}, lambda w: g("Voucher", A(w).voucher), ("shopper1",), victim="shopper1",
             attackers=STOREFRONT_ATTACKERS),
    ListCase(shop("query", "disputes"), FIRST, lambda w: g("Dispute", A(w).dispute), ("shopper1",),
             victim="shopper1", attackers=STOREFRONT_ATTACKERS),
    # An inbox is its user's: not the store's other staff's, not the superuser's.
    ListCase(core("query", "notifications"), FIRST, lambda w: g("Notification", A(w).notification), ("alpha_owner",),
             victim="inbox:alpha_owner",
             attackers=("alpha_operator", "alpha_agent", "bravo_owner", "shopper2", "superuser", "staff_none", "anonymous")),
    ListCase(shop("query", "notifications"), FIRST, lambda w: g("Notification", w.shopper1_notification),
             ("shopper1",), victim="inbox:shopper1", attackers=STOREFRONT_ATTACKERS),
    ListCase(core("query", "webhookSubscriptions"), FIRST, lambda w: g("WebhookSubscription", A(w).webhook_subscription),
             HOOKS, (MP,), attackers=(*ListCase.attackers, "alpha_agent")),
    ListCase(core("query", "webhookDeliveries"), FIRST, lambda w: g("WebhookDelivery", A(w).webhook_delivery),
             HOOKS, (MP,), attackers=(*ListCase.attackers, "alpha_agent")),
    # The platform's webhooks are for staff managing plugins only.
    ListCase(core("query", "webhookSubscriptions"), FIRST, lambda w: g("WebhookSubscription", w.platform_subscription),
             ("staff_manage_plugins",), (MP,), victim="platform", label="platform",
             attackers=("alpha_owner", "bravo_owner", "shopper2", "staff_none", "staff_manage_finance", "anonymous")),
    ListCase(core("query", "webhookDeliveries"), FIRST, lambda w: g("WebhookDelivery", w.platform_delivery),
             ("staff_manage_plugins",), (MP,), victim="platform", label="platform",
             attackers=("alpha_owner", "bravo_owner", "shopper2", "staff_none", "staff_manage_finance", "anonymous")),
    ListCase(shop("query", "favourites"), FIRST, lambda w: g("Favourite", w.favourite), ("shopper1",),
             victim="shopper1", attackers=STOREFRONT_ATTACKERS),
    ListCase(shop("query", "restockAlerts"), {}, lambda w: g("RestockAlert", w.restock_alert), ("shopper1",),
             victim="shopper1", attackers=STOREFRONT_ATTACKERS),
]


@dataclass
class NodeCase:
    """`node(id:)` of the core API for one object of the type."""

    type_name: str
    obj: Callable[[World], object]
    legit: tuple[str, ...] = STAFF_ON_VENDOR
    staff: tuple[P, ...] = ()
    attackers: tuple[str, ...] = CORE_ATTACKERS
    victim: str = "alpha"
    staff_gated: bool = True  # False: every signed-in user may see it

    @property
    def id(self) -> str:
        return self.type_name


PUBLIC_TO_ALL = ("anonymous", "shopper2", "bravo_owner", "staff_none")
NODE_CASES: list[NodeCase] = [
    NodeCase("VendorApplication", lambda w: A(w).application, ("alpha_owner",), (MV,)),
    NodeCase("VendorApplicationDocument", lambda w: A(w).document, ("alpha_owner",), (MV,)),
    NodeCase("User", lambda w: A(w).owner, ("alpha_owner",), (MS,)),
    NodeCase("VendorStaff", lambda w: A(w).operator_membership, staff=(MV, MF)),
    # A store's invitations are its owner's (and the invited account's, see test_staff_invitations.py).
    NodeCase("VendorStaffInvitation", lambda w: A(w).invitation, ("alpha_owner",), (MV,),
             attackers=(*CORE_ATTACKERS, "alpha_operator", "alpha_agent")),
    NodeCase("Vendor", lambda w: A(w).vendor, staff=(MV, MF)),
    NodeCase("Category", lambda w: w.categories["tshirts"], legit=PUBLIC_TO_ALL, attackers=()),
    NodeCase("Attribute", lambda w: w.categories["apparel"].attributes.first(), legit=PUBLIC_TO_ALL, attackers=()),
    NodeCase("LedgerEntry", lambda w: A(w).ledger_entry, staff=(MF,)),
    NodeCase("LedgerTransaction", lambda w: A(w).deposit_transaction, staff=(MF,)),
    NodeCase("Payment", lambda w: A(w).fee_payment, ("alpha_owner",), (MF, MO)),
    NodeCase("Order", lambda w: A(w).order_unshipped, staff=(MO,)),
    NodeCase("OrderLine", lambda w: A(w).order_line, staff=(MO,)),
    NodeCase("Shipment", lambda w: A(w).shipment, staff=(MO,)),
    # Fee plans are the platform's terms, shown to every signed-in user.
    NodeCase("FeePlan", lambda w: w.fee_plan, legit=("bravo_owner", "shopper2", "staff_none"), attackers=("anonymous",),
             staff_gated=False),
    NodeCase("CommissionOverride", lambda w: A(w).commission_override, staff=(MF,)),
    NodeCase("Payout", lambda w: A(w).payout, staff=(MF,)),
    NodeCase("Dispute", lambda w: A(w).dispute, staff=(AD,)),
    NodeCase("Product", lambda w: A(w).products["draft"], staff=(RL, MV)),
    NodeCase("ProductVariant", lambda w: A(w).draft_variant, staff=(RL, MV)),
    NodeCase("ProductMedia", lambda w: A(w).draft_media, staff=(RL, MV)),
    NodeCase("ProductRevision", lambda w: A(w).revision, staff=(RL, MV)),
    NodeCase("Voucher", lambda w: A(w).voucher, staff=(MF,)),
    NodeCase("FlashSale", lambda w: A(w).flash_sale, staff=(MF,)),
    NodeCase("GroupDeal", lambda w: A(w).group_deal, staff=(MF,)),
    NodeCase("CampaignEnrolment", lambda w: A(w).enrolment, staff=(RL,)),
    NodeCase("Campaign", lambda w: w.draft_campaign, legit=(), staff=(RL,), victim="campaigns",
             attackers=("alpha_owner", "shopper2", "anonymous")),
    NodeCase("PermissionGroup", lambda w: w.group, legit=(), staff=(MS,), attackers=("alpha_owner", "anonymous")),
    NodeCase("Member", lambda w: w.member, legit=(), staff=(MF,), victim="shopper1",
             attackers=("shopper1", "alpha_owner", "anonymous")),
    NodeCase("MemberPointsEntry", lambda w: w.points_entry, legit=(), staff=(MF,), victim="shopper1",
             attackers=("shopper1", "alpha_owner", "anonymous")),
    NodeCase("ReconciliationMismatch", lambda w: w.mismatch, legit=(), staff=(MF,), attackers=("alpha_owner", "anonymous")),
    NodeCase("Notification", lambda w: A(w).notification, ("alpha_owner",), victim="inbox:alpha_owner",
             attackers=(*CORE_ATTACKERS, "alpha_operator", "superuser")),
    NodeCase("WebhookSubscription", lambda w: A(w).webhook_subscription, HOOKS, (MP,),
             attackers=(*CORE_ATTACKERS, "alpha_agent")),
    NodeCase("WebhookDelivery", lambda w: A(w).webhook_delivery, HOOKS, (MP,), attackers=(*CORE_ATTACKERS, "alpha_agent")),
]

PUBLIC = {
    core("query", "availablePaymentGateways"), core("query", "carriers"), core("query", "shippingRegions"),
    core("query", "categories"), core("query", "category"), core("query", "categoryFeeTerms"),
    core("query", "categoryFeePlans"),
    shop("query", "products"), shop("query", "product"), shop("query", "vendor"), shop("query", "categories"),
    shop("query", "category"),
    # Counts and completions of published listings of shown stores only (tests/search/test_facets.py).
    shop("query", "productFacets"), shop("query", "searchSuggestions"),
    # Live claimable coupons: what a store's page or the platform's hands out to everyone.
    shop("query", "claimableCoupons"),
    # Live and upcoming campaigns and their pages of approved, published listings.
    shop("query", "campaigns"), shop("query", "campaign"),
}
SELF = {
    core("query", "me"), core("mutation", "vendorApplicationCreate"), core("mutation", "accountRegister"),
    core("mutation", "tokenCreate"), core("mutation", "tokenRefresh"), core("mutation", "tokenRevoke"), core("mutation", "passwordChange"),
    core("mutation", "accountConfirm"), core("mutation", "passwordResetRequest"), core("mutation", "passwordResetConfirm"),
    # The invited account answers its own invitations (tests/accounts/test_staff_invitations.py).
    core("mutation", "vendorStaffInvitationAccept"), core("mutation", "vendorStaffInvitationDecline"),
    shop("mutation", "accountConfirm"), shop("mutation", "passwordResetRequest"), shop("mutation", "passwordResetConfirm"),
    shop("query", "me"), shop("mutation", "accountRegister"), shop("mutation", "tokenCreate"),
    shop("mutation", "tokenRefresh"), shop("mutation", "tokenRevoke"), shop("mutation", "checkoutCreate"),
    # The caller's own inbox and preferences (tests/security/test_notifications.py): no IDs taken.
    core("query", "notificationUnreadCount"), core("query", "notificationPreferences"),
    core("mutation", "notificationMarkAllRead"), core("mutation", "notificationPreferenceUpdate"),
    shop("query", "notificationUnreadCount"), shop("query", "notificationPreferences"),
    shop("mutation", "notificationMarkAllRead"), shop("mutation", "notificationPreferenceUpdate"),
}
NODE = {core("query", "node")}


def classified() -> dict[Op, set[str]]:
    """Each classified operation and the classes it is in."""
    found: dict[Op, set[str]] = {}
    for name, ops in (
        ("public", PUBLIC), ("self", SELF), ("node", NODE),
        ("owned", {c.op for c in OWNED_CASES}), ("staff", {c.op for c in STAFF_CASES}),
        ("list", {c.op for c in LIST_CASES}),
    ):
        for op in ops:
            found.setdefault(op, set()).add(name)
    return found


def tenant_markers(world: World, key: str) -> set[str]:
    """The word in every name of the tenant, and the global ID of everything it owns."""
    from backend.catalog.models import ProductMedia, ProductRevision, ProductVariant
    from backend.finance.models import LedgerEntry, LedgerTransaction, Payout, VendorCommissionOverride
    from backend.logistics.models import Shipment
    from backend.orders.models import Order, OrderLine
    from backend.payments.models import Payment
    from backend.notifications.models import Delivery, Notification, WebhookSubscription
    from backend.promotions.models import FlashSale, GroupDeal, Voucher
    from backend.campaigns.models import CampaignEnrolment
    from backend.promotions.models import FlashSale, Voucher

    t = getattr(world, key)
    vendor = t.vendor
    ids = {g("Vendor", vendor), g("VendorApplication", t.application), g("VendorApplicationDocument", t.document)}
    ids |= {g("User", u) for u in (t.owner, t.operator, t.agent)}
    ids |= {g("VendorStaff", s) for s in vendor.staff.all()}
    ids |= {g("Product", p) for p in vendor.products.all()}
    ids |= {g("ProductVariant", v) for v in ProductVariant.objects.filter(vendor=vendor)}
    ids |= {g("ProductMedia", v) for v in ProductMedia.objects.filter(product__vendor=vendor)}
    ids |= {g("ProductRevision", v) for v in ProductRevision.objects.filter(product__vendor=vendor)}
    ids |= {g("Order", o) for o in Order.objects.filter(vendor=vendor)}
    ids |= {g("OrderLine", o) for o in OrderLine.objects.filter(order__vendor=vendor)}
    ids |= {g("Shipment", s) for s in Shipment.objects.filter(vendor=vendor)}
    ids |= {g("Dispute", d) for d in vendor.disputes.all()}
    ids |= {g("Payout", p) for p in Payout.objects.filter(vendor=vendor)}
    ids |= {g("Payment", p) for p in Payment.objects.filter(vendor=vendor)}
    ids |= {g("LedgerEntry", e) for e in LedgerEntry.objects.filter(account__vendor=vendor)}
    touched = LedgerTransaction.objects.filter(entries__account__vendor=vendor).distinct()
    ids |= {g("LedgerTransaction", x) for x in touched if _only_vendor(x, vendor)}
    ids |= {g("CommissionOverride", o) for o in VendorCommissionOverride.objects.filter(vendor=vendor)}
    ids |= {g("Voucher", v) for v in Voucher.objects.filter(vendor=vendor)}
    ids |= {g("FlashSale", f) for f in FlashSale.objects.filter(vendor=vendor)}
    ids |= {g("GroupDeal", d) for d in GroupDeal.objects.filter(vendor=vendor)}
    ids |= {g("CampaignEnrolment", e) for e in CampaignEnrolment.objects.filter(vendor=vendor)}
    ids |= {g("Notification", n) for n in Notification.objects.filter(user__in=(t.owner, t.operator, t.agent))}
    ids |= {g("WebhookSubscription", s) for s in WebhookSubscription.objects.filter(vendor=vendor)}
    ids |= {g("WebhookDelivery", d) for d in Delivery.objects.filter(subscription__vendor=vendor)}
    return {key} | ids


def _only_vendor(transaction, vendor) -> bool:
    """A transaction that touches no other vendor's account (a split checkout's hold touches several)."""
    return {e.account.vendor_id for e in transaction.entries.select_related("account")} - {None} == {vendor.pk}


def shopper_markers(world: World, user) -> set[str]:
    from backend.accounts.models import User
    from backend.disputes.models import Dispute
    from backend.orders.models import Order
    from backend.members.models import PointsEntry
    from backend.notifications.models import Favourite, Notification, RestockAlert
    from backend.promotions.models import Coupon

    ids = {g("User", user), to_global_id("Checkout", world.checkout.pk)}
    ids |= {g("Notification", n) for n in Notification.objects.filter(user=user)}
    ids |= {g("Favourite", f) for f in Favourite.objects.filter(user=user)}
    ids |= {g("RestockAlert", a) for a in RestockAlert.objects.filter(user=user)}
    ids |= {g("PointsEntry", e) for e in PointsEntry.objects.filter(member__user=user)}
    ids |= {g("Order", o) for o in Order.objects.filter(user=user)}
    ids |= {g("Dispute", d) for d in Dispute.objects.filter(order__user=user)}
    # The coupons only this shopper claimed: that they hold them is theirs to know.
    claimed = Coupon.objects.filter(user=user).exclude(voucher__coupons__user__in=User.objects.exclude(pk=user.pk))
    ids |= {g("Voucher", c.voucher) for c in claimed.select_related("voucher")}
    return {user.email.split("@")[0]} | ids


def charlie_markers(world: World) -> set[str]:
    application = world.pending_application
    ids = {g("VendorApplication", application), g("User", world.applicant)}
    ids |= {g("VendorApplicationDocument", d) for d in application.documents.all()}
    return {"charlie"} | ids


def inbox_markers(world: World, name: str) -> set[str]:
    """The global IDs of one user's inbox messages (their words may name a store or a shopper the
    caller deals with too, so only the IDs tell one inbox from another)."""
    from backend.notifications.models import Notification

    return {g("Notification", n) for n in Notification.objects.filter(user=world.user(name))}


def platform_markers(world: World) -> set[str]:
    """The platform's webhook subscription (its URL names it) and its delivery log."""
    from backend.notifications.models import Delivery

    ids = {g("WebhookSubscription", world.platform_subscription), "platform-erp"}
    return ids | {g("WebhookDelivery", d) for d in Delivery.objects.filter(subscription=world.platform_subscription)}


def campaign_markers(world: World) -> set[str]:
    """A draft campaign: the platform's plans, for campaign staff only."""
    draft = world.draft_campaign
    return {g("Campaign", draft), draft.name, draft.slug}


def markers(world: World, victim: str) -> set[str]:
    if victim == "campaigns":
        return campaign_markers(world)
    if victim.startswith("inbox:"):
        return inbox_markers(world, victim.removeprefix("inbox:"))
    if victim == "platform":
        return platform_markers(world)
    if victim in ("alpha", "bravo"):
        return tenant_markers(world, victim)
    if victim == "shopper1":
        return shopper_markers(world, world.shopper1)
    if victim == "charlie":
        return charlie_markers(world)
    raise ValueError(victim)

