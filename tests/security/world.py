"""The two-vendor world the security tests attack, built once through the domains' services.

Vendor A (Alpha) and vendor B (Bravo) each have an owner, an operator and a customer-service
agent, listings in every review state, orders from two shoppers (paid and unshipped, shipped
and disputed, released and paid out), ledger entries, fee and deposit payments, a commission
override and an approved application with its documents. Platform staff hold exactly one
permission each; one holds none; a superuser holds all.

Everything of A carries the word "alpha" (names, emails, SKUs, the shoppers' addresses at A),
so a response that contains it, or one of A's global IDs, shows A's data.

Each user has messages in the inbox (written by the events above); each store has a webhook
subscription (to a closed loopback port) with a delivery in its log, the platform one of its own;
shopper 1 saved A's listing and waits for A's sold-out variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from backend.accounts.models import User
from backend.catalog import services as catalog
from backend.catalog.models import ListingStatus, Product, ProductMedia, ProductRevision, ProductVariant, RevisionStatus
from backend.checkout import services as checkout_services
from backend.checkout.models import Checkout
from backend.checkout.services import AddressInput, LineInput
from backend.core.permissions import PlatformPermission
from backend.disputes import services as disputes
from backend.disputes.models import Dispute
from backend.finance import entry_fees, fees, payouts
from backend.finance.models import FeePlan, LedgerEntry, LedgerTransaction, Payout, VendorCommissionOverride
from backend.logistics.loaders import load_all
from backend.notifications import services as notifications
from backend.notifications.models import Delivery, Favourite, Notification, RestockAlert, WebhookSubscription
from backend.logistics.models import Region, Shipment, ShippingService
from backend.members import services as members
from backend.members.models import Member, PointsEntry
from backend.orders import services as orders
from backend.orders.models import Order, OrderLine, VendorShippingOrigin
from backend.payments.models import MismatchProblem, Payment, ReconciliationMismatch
from backend.vendors import services as vendors
from backend.vendors.models import ApplicationDocument, DocumentType, Vendor, VendorApplication, VendorRole, VendorStaff
from backend.vendors.models import VendorStaffInvitation
from backend.campaigns import services as campaigns
from backend.campaigns.models import Campaign, CampaignEnrolment
from backend.promotions import services as promotions
from backend.promotions.flash_sales import FlashSaleInput, flash_sale_create
from backend.promotions.group_buying import GroupDealInput, group_deal_create
from backend.promotions.models import FlashSale, Voucher
from backend.promotions.services import VoucherInput
from fixtures.demo.documents import minimal_pdf

from ..catalog.helpers import build_catalog, listed_product, upload
from ..checkout.helpers import HANGZHOU, SHANGHAI, TABLE_RATE
from ..conftest import make_user
from ..factories import staff_join
from ..disputes.helpers import deliver
from ..disputes.helpers import upload as evidence_upload
from ..disputes.helpers import worker_runs

PERMISSIONS = list(PlatformPermission)


def pdf_upload(*lines: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("licence.pdf", minimal_pdf(list(lines or ("BUSINESS LICENCE",))), content_type="application/pdf")


@dataclass
class Tenant:
    """One vendor and everything it owns."""

    key: str  # "alpha" or "bravo": the word in every name of the tenant
    vendor: Vendor
    owner: User
    operator: User
    agent: User  # customer service: may see the store's data, may not manage money or profile
    application: VendorApplication
    document: ApplicationDocument
    operator_membership: VendorStaff
    invitation: VendorStaffInvitation  # pending, to an address with no account
    products: dict[str, Product]
    variant: ProductVariant  # of the published listing that sells
    draft_variant: ProductVariant
    draft_media: ProductMedia
    revision: ProductRevision
    order_unshipped: Order  # shopper 1's, paid, waiting to ship
    order_disputed: Order  # shopper 1's, shipped, with an open dispute
    order_released: Order  # shopper 2's, received, its money released
    shipment: Shipment  # of order_disputed, not yet picked up
    dispute: Dispute
    payout: Payout
    fee_payment: Payment
    deposit_payment: Payment
    ledger_entry: LedgerEntry
    deposit_transaction: LedgerTransaction  # the deposit top-up: only this vendor's accounts
    commission_override: VendorCommissionOverride
    order_line: OrderLine = field(init=False)
    voucher: Voucher | None = None  # the store's coupon (code and claimable); shopper 1 claimed A's
    secret_voucher: Voucher | None = None  # a code only: not claimable by its ID
    flash_sale: FlashSale | None = None  # on the published listing's variant, now
    group_deal: object = None  # 拼团 on the published listing's variant, now
    notification: Notification | None = None  # in the owner's inbox
    webhook_subscription: WebhookSubscription | None = None  # the owner's, for the store's events
    webhook_delivery: Delivery | None = None  # its test-send, failed (nothing listens) and waiting to retry
    soldout_variant: ProductVariant | None = None  # of a published listing with no stock
    enrolment: CampaignEnrolment | None = None  # the published variant in the open campaign, pending review

    def __post_init__(self):
        self.order_line = self.order_unshipped.lines.first()


@dataclass
class World:
    alpha: Tenant
    bravo: Tenant
    shopper1: User
    shopper2: User
    applicant: User  # a merchant-to-be whose application waits for more information
    pending_application: VendorApplication
    staff: dict[PlatformPermission, User]  # one permission each
    staff_none: User
    superuser: User
    categories: dict
    fee_plan: FeePlan
    checkout: Checkout  # shopper 1's open checkout (lines of A and B), A's voucher applied
    guest_checkout: Checkout
    group: Group  # a permission group holding every permission
    platform_voucher: Voucher | None = None  # finance staff's, claimable, with a code
    mismatch: ReconciliationMismatch | None = None  # the reconciliation found alpha's fee payment missing
    shopper1_notification: Notification | None = None  # in shopper 1's inbox
    favourite: Favourite | None = None  # shopper 1 saved A's published listing
    restock_alert: RestockAlert | None = None  # shopper 1 waits for A's sold-out variant
    platform_subscription: WebhookSubscription | None = None  # plugin staff's, for every event
    platform_delivery: Delivery | None = None
    campaign: Campaign | None = None  # open for enrolment, starting in two days (stores see it)
    draft_campaign: Campaign | None = None  # platform staff's only
    member: Member | None = None  # shopper 1's membership, with points granted by finance staff
    points_entry: PointsEntry | None = None  # the grant, in shopper 1's points history
    media_root: str = ""
    private_media_root: str = ""
    users: dict[str, User] = field(default_factory=dict)
    baseline: dict[str, str] = field(default_factory=dict)  # the database fingerprint as built

    def user(self, name: str):
        return self.users[name]


def _address(who: str, region: str = SHANGHAI) -> AddressInput:
    return AddressInput(
        region=region, street_address_1=f"1 {who} Lane", first_name=who, last_name="Buyer", phone="13800000000",
        city="Shanghai", postal_code="200000",
    )


def _open_store(key: str, approver: User, finance: User, reviewer: User, categories: dict) -> dict:
    """Apply, get approved, pay the entry fee and deposit, hire staff, list products."""
    owner = make_user(f"owner@{key}.example")
    operator = make_user(f"operator@{key}.example")
    agent = make_user(f"agent@{key}.example")
    application = vendors.vendor_application_create(
        applicant=owner,
        store_name=f"{key.title()} Outfitters",
        company_name=f"{key.title()} Trading Co.",
        contact_email=f"contact@{key}.example",
        categories=[categories["tshirts"]],
        documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload("BUSINESS LICENCE", f"{key} Trading Co."))],
    )
    application = vendors.vendor_application_approve(actor=approver, application=application)
    vendor = application.vendor
    owner = User.objects.get(pk=owner.pk)  # forget the membership cached as missing before approval
    VendorShippingOrigin.objects.create(vendor=vendor, region_code=HANGZHOU)
    fee_payment = entry_fees.vendor_entry_fee_pay(actor=owner, vendor=vendor, token="success")
    deposit_payment = entry_fees.vendor_deposit_top_up(actor=owner, vendor=vendor, token="success")
    vendor.refresh_from_db()
    assert vendor.status == "active", vendor.status
    operator_membership = staff_join(owner, vendor, operator, VendorRole.OPERATOR)
    staff_join(owner, vendor, agent, VendorRole.CUSTOMER_SERVICE)
    operator, agent = User.objects.get(pk=operator.pk), User.objects.get(pk=agent.pk)

    def product(status, name):
        return listed_product(vendor, owner, categories["tshirts"], name=f"{key.title()} {name} Tee",
                              status=status, stock=50, sku=f"{key.upper()}-{name.upper()}")

    products = {
        "draft": product(ListingStatus.DRAFT, "Draft"),
        "pending": product(ListingStatus.PENDING_REVIEW, "Pending"),
        "published": product(ListingStatus.PUBLISHED, "Published"),
        "rejected": product(ListingStatus.REJECTED, "Rejected"),
        "delisted": product(ListingStatus.DELISTED, "Delisted"),
        "revised": product(ListingStatus.PUBLISHED, "Revised"),
    }
    # A published listing with an edit (and a new picture) waiting for review.
    catalog.product_update(actor=owner, product=products["revised"], name=f"{key.title()} Revised Tee v2")
    catalog.product_media_create(actor=owner, product=products["revised"], image=upload(color=(10, 200, 10)))
    revision = ProductRevision.objects.get(product=products["revised"], status=RevisionStatus.PENDING)
    commission_override = fees.vendor_commission_override(
        actor=finance, vendor=vendor, category=categories["tshirts"], rate=Decimal("0.04")
    )
    return {
        "key": key, "vendor": vendor, "owner": owner, "operator": operator, "agent": agent,
        "application": application, "document": application.documents.first(),
        "operator_membership": operator_membership, "products": products,
        "invitation": vendors.vendor_staff_invite(actor=owner, vendor=vendor, email=f"newcomer@{key}.example.com",
                                                  role=VendorRole.OPERATOR),
        "variant": products["published"].variants.first(), "draft_variant": products["draft"].variants.first(),
        "draft_media": products["draft"].media.first(), "revision": revision,
        "fee_payment": fee_payment, "deposit_payment": deposit_payment, "commission_override": commission_override,
    }


def _checkout(user, variants, who: str) -> Checkout:
    checkout = checkout_services.checkout_create(
        user=user, email=user.email if user else f"{who}@guest.example",
        lines=[LineInput(variant_id=v.pk, quantity=1) for v in variants], shipping_address=_address(who),
    )
    for vendor_id in sorted({v.vendor_id for v in variants}):
        checkout_services.checkout_shipping_method_update(
            checkout=checkout, vendor_id=vendor_id, carrier=TABLE_RATE, service_code="economy"
        )
    checkout.refresh_from_db()
    return checkout


def _buy(user, variants, who: str) -> dict[int, Order]:
    result = checkout_services.checkout_complete(
        checkout=_checkout(user, variants, who), user=user, gateway="dummy", token="success"
    )
    return {order.vendor_id: order for order in result.orders}


def build_world(media_root: str = "") -> World:
    if not (Region.objects.exists() and ShippingService.objects.filter(carrier_id=TABLE_RATE).exists()):
        load_all()
    staff = {p: make_user(f"staff-{p.value.replace('_', '-')}@platform.example", is_staff=True, permissions=[p])
             for p in PERMISSIONS}
    staff_none = make_user("staff-none@platform.example", is_staff=True)
    superuser = User.objects.create_superuser("root@platform.example", "Correct-Horse-42")
    categories = build_catalog()
    fee_plan = fees.category_fee_plan_update(
        actor=staff[PlatformPermission.MANAGE_FINANCE], category=categories["apparel"],
        annual_fee=Decimal("1000.00"), commission_rate=Decimal("0.05"), deposit_amount=Decimal("2000.00"),
    )
    built = {
        key: _open_store(key, staff[PlatformPermission.MANAGE_VENDORS], staff[PlatformPermission.MANAGE_FINANCE],
                         staff[PlatformPermission.REVIEW_LISTINGS], categories)
        for key in ("alpha", "bravo")
    }
    shopper1 = make_user("shopper1@example.com")
    shopper2 = make_user("shopper2@example.com")
    both = [built["alpha"]["variant"], built["bravo"]["variant"]]
    # Each checkout spans both stores: one payment, one escrow transaction, two orders.
    disputed = _buy(shopper1, both, "Shopper1")
    released = _buy(shopper2, both, "Shopper2")
    unshipped = _buy(shopper1, both, "Shopper1")
    for data in built.values():
        vendor_id = data["vendor"].pk
        order = orders.order_ship(actor=data["owner"], order=disputed[vendor_id], carrier=TABLE_RATE)
        data["order_disputed"], data["shipment"] = order, order.shipment
        with worker_runs():  # the evidence renditions, made after commit
            data["dispute"] = disputes.dispute_open(
                actor=shopper1, order=order, reason="not_as_described", kind=None,
                description=f"Shopper1 claim: the {data['key']} tee is the wrong colour.", requested_amount="20.00",
                lines=None, evidence=[evidence_upload(f"{data['key']}-evidence.png")],
            )
        order = orders.order_ship(actor=data["owner"], order=released[vendor_id], carrier=TABLE_RATE)
        deliver(order)
        data["order_released"] = orders.order_confirm_receipt(actor=shopper2, order=order)
        data["payout"] = payouts.payout_create(actor=data["owner"], vendor=data["vendor"])
        data["order_unshipped"] = unshipped[vendor_id]
        data["deposit_transaction"] = LedgerTransaction.objects.filter(
            entries__account__vendor_id=vendor_id, kind="deposit_top_up"
        ).distinct().get()
        data["ledger_entry"] = LedgerEntry.objects.filter(account__vendor_id=vendor_id).order_by("id").first()
    alpha, bravo = (Tenant(**built[key]) for key in ("alpha", "bravo"))

    applicant = make_user("applicant@charlie.example")
    pending = vendors.vendor_application_create(
        applicant=applicant, store_name="Charlie Goods", company_name="Charlie Co.",
        contact_email=applicant.email, categories=[categories["phones"]],
        documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())],
    )
    pending = vendors.vendor_application_request_info(
        actor=staff[PlatformPermission.MANAGE_VENDORS], application=pending, message="Add a trademark certificate."
    )
    group = Group.objects.get(name="Full access")
    fee_payment = alpha.fee_payment
    mismatch = ReconciliationMismatch.objects.create(
        gateway=fee_payment.gateway, day=timezone.localdate(), kind="charge", psp_reference=fee_payment.psp_reference,
        problem=MismatchProblem.MISSING_AT_GATEWAY, payment=fee_payment, our_amount=fee_payment.amount,
        our_currency=fee_payment.currency, our_status="succeeded", last_seen_at=timezone.now(),
    )
    world = World(
        alpha=alpha, bravo=bravo, shopper1=shopper1, shopper2=shopper2, applicant=applicant,
        pending_application=pending, staff=staff, staff_none=staff_none, superuser=superuser,
        categories=categories, fee_plan=fee_plan, checkout=_checkout(shopper1, both, "Shopper1"),
        guest_checkout=_checkout(None, both, "Guest"), group=group, mismatch=mismatch, media_root=media_root,
    )
    _add_vouchers(world)
    _add_notifications(world)
    _add_campaigns(world)
    _add_members(world)
    world.users = {
        "anonymous": None,
        "shopper1": shopper1,
        "shopper2": shopper2,
        "applicant": applicant,
        "staff_none": staff_none,
        "superuser": superuser,
        **{f"{t.key}_{role}": getattr(t, role) for t in (alpha, bravo) for role in ("owner", "operator", "agent")},
        **{f"staff_{p.name.lower()}": user for p, user in staff.items()},
    }
    return world


def _add_members(world: World) -> None:
    """Shopper 1 is a member; finance staff granted them points (a ledger movement)."""
    world.member = members.member_lock(world.shopper1)
    world.points_entry = members.points_adjust(
        actor=world.staff[PlatformPermission.MANAGE_FINANCE], member=world.member, points=500,
        reason="Shopper1 goodwill", idempotency_key="world-grant",
    )
    world.member.refresh_from_db()


def _add_vouchers(world: World) -> None:
    """Each store's coupon and code-only voucher and a flash sale, a platform coupon; shopper 1
    claimed A's coupon and applied it to the open checkout."""
    for tenant in (world.alpha, world.bravo):
        key = tenant.key
        tenant.voucher = promotions.voucher_create(actor=tenant.owner, data=VoucherInput(
            name=f"{key.title()} 5 off 50", kind="amount_off", value="5", min_spend="50", code=f"{key.upper()}5",
            claimable=True,
        ))
        tenant.secret_voucher = promotions.voucher_create(actor=tenant.owner, data=VoucherInput(
            name=f"{key.title()} VIP 10 off 80", kind="amount_off", value="10", min_spend="80", code=f"{key.upper()}VIP",
        ))
    world.platform_voucher = promotions.voucher_create(
        actor=world.staff[PlatformPermission.MANAGE_FINANCE],
        data=VoucherInput(name="Platform 8 off 150", kind="amount_off", value="8", min_spend="150", code="PLATFORM8",
                          claimable=True),
    )
    for tenant in (world.alpha, world.bravo):
        tenant.flash_sale = flash_sale_create(actor=tenant.owner, variant_id=tenant.variant.pk, data=FlashSaleInput(
            name=f"{tenant.key.title()} flash", price="90.00", quantity=10, per_shopper_limit=2,
            starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(days=1),
        ))
    for tenant in (world.alpha, world.bravo):
        tenant.group_deal = group_deal_create(actor=tenant.owner, variant_id=tenant.variant.pk, data=GroupDealInput(
            name=f"{tenant.key.title()} group", price="80.00", group_size=3, window_hours=24,
            starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(days=1),
        ))
    promotions.coupon_claim(user=world.shopper1, voucher=world.alpha.voucher)
    promotions.checkout_voucher_apply(checkout=world.checkout, user=world.shopper1, voucher_id=world.alpha.voucher.pk)


def _add_campaigns(world: World) -> None:
    """An open campaign (after the flash sales end) with each store's published variant enrolled,
    pending review, and a draft campaign only campaign staff see."""
    staff = world.staff[PlatformPermission.REVIEW_LISTINGS]
    starts = timezone.now() + timedelta(days=2)
    world.campaign = campaigns.campaign_create(actor=staff, data=campaigns.CampaignInput(
        name="Double 11", slug="double-11", badge="双11", starts_at=starts, ends_at=starts + timedelta(days=1)))
    world.campaign = campaigns.campaign_open(actor=staff, campaign_id=world.campaign.pk)
    world.draft_campaign = campaigns.campaign_create(actor=staff, data=campaigns.CampaignInput(
        name="Secret 618 plans", slug="secret-618", starts_at=starts, ends_at=starts + timedelta(days=1)))
    for tenant in (world.alpha, world.bravo):
        tenant.enrolment = campaigns.campaign_enrol(
            actor=tenant.owner, campaign_id=world.campaign.pk, variant_id=tenant.variant.pk,
            price=(tenant.variant.price_amount / 2).quantize(Decimal("0.01")), quantity=5,
        )


# Webhooks go to a port nothing listens on: a test-send fails at once and stays in the log.
HOOK_URL = "http://127.0.0.1:9/{}-erp"


def _add_notifications(world: World) -> None:
    """Each owner's inbox message, each store's webhook subscription and delivery, the platform's,
    shopper 1's favourite and restock alert."""
    plugins_staff = world.staff[PlatformPermission.MANAGE_PLUGINS]
    for tenant in (world.alpha, world.bravo):
        tenant.notification = Notification.objects.filter(user=tenant.owner).order_by("pk").first()
        assert tenant.notification is not None, "the store's owner was told of nothing"
        tenant.webhook_subscription = notifications.webhook_subscription_create(
            actor=tenant.owner, vendor_id=tenant.vendor.pk, url=HOOK_URL.format(tenant.key), events=["webhook.test"],
        )
        tenant.webhook_delivery = notifications.webhook_subscription_test_send(
            actor=tenant.owner, subscription=tenant.webhook_subscription
        )
        sold_out = listed_product(tenant.vendor, tenant.owner, world.categories["tshirts"],
                                  name=f"{tenant.key.title()} Soldout Tee", stock=0, sku=f"{tenant.key.upper()}-SOLDOUT")
        tenant.soldout_variant = sold_out.variants.first()
    world.platform_subscription = notifications.webhook_subscription_create(
        actor=plugins_staff, vendor_id=None, url=HOOK_URL.format("platform"), events=["webhook.test"],
    )
    world.platform_delivery = notifications.webhook_subscription_test_send(
        actor=plugins_staff, subscription=world.platform_subscription
    )
    world.shopper1_notification = Notification.objects.filter(user=world.shopper1).order_by("pk").first()
    assert world.shopper1_notification is not None, "shopper 1 was told of nothing"
    world.favourite = notifications.favourite_add(actor=world.shopper1, product=world.alpha.products["published"])
    world.restock_alert = notifications.restock_alert_subscribe(actor=world.shopper1, variant=world.alpha.soldout_variant)


def staff_name(permission: PlatformPermission) -> str:
    return f"staff_{permission.name.lower()}"
