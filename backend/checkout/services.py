"""Checkout across stores: lines, address, one shipping choice per vendor package, completion.

Every change re-prices the lines and re-checks them (listing still published,
store still selling, enough stock) and re-quotes the chosen shipping; completion
does it again under row locks. A checkout holds no stock: stock is taken only in
checkout_complete, in the same transaction that places the orders, takes the
payment and holds it in escrow.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backend.accounts.emails import supported_language
from backend.analytics import hooks as analytics
from backend.catalog.models import ListingStatus, ProductVariant
from backend.catalog.vendor_rules import vendor_is_sellable
from backend.core.exceptions import DomainError, DomainErrors
from backend.core.money import Money, quantize
from backend.core.periodic import record_processed
from backend.logistics import services as logistics
from backend.logistics import versions as logistics_versions
from backend.notifications import services as notifications
from backend.logistics.zones import regions_by_code
from backend.orders import services as orders_services
from backend.orders.models import Order
from backend.orders.selectors import vendor_shipping_origins
from backend.orders.stock import stock_lock, stock_take
from backend.payments import services as payments
from backend.payments.error_codes import PaymentErrorCode
from backend.payments.models import PaymentPurpose, PaymentStatus
from backend.promotions import group_buying as promotions_groups
from backend.promotions import services as promotions
from backend.promotions.pricing import PLATFORM, STORE, PackagePricing, Pricing
from plugins.base import BasePlugin
from plugins.logistics.interface import Package, Quote
from plugins.manager import PluginsManager, get_plugins_manager
from plugins.payments.interface import GatewayErrorCode, GatewayStatus, SessionData, SessionQuery

from .error_codes import CheckoutErrorCode
from .models import Checkout, CheckoutLine, CheckoutPaymentAttempt, CheckoutShippingMethod
from .reservations import StockReservation, available_quantities
from .reservations import release as release_reservations
from .reservations import reserve as reserve_stock
from .sessions import OPEN_STATES, PAID_STATES, PaymentSession, checkout_fingerprint, session_machine
from .sessions import PaymentSessionState as S

logger = logging.getLogger(__name__)

MAX_LINE_QUANTITY = 999
MAX_LINES = 100
E = CheckoutErrorCode


# --- Inputs and what a checkout looks like -------------------------------------------


@dataclass(frozen=True)
class LineInput:
    variant_id: int
    quantity: int


@dataclass(frozen=True)
class AddressInput:
    region: str
    street_address_1: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    street_address_2: str = ""
    city: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class CheckoutProblem:
    code: CheckoutErrorCode
    message: str
    line: CheckoutLine | None = None
    vendor_id: int | None = None


@dataclass
class CheckoutPackage:
    """One vendor's part of the checkout: shipped together, quoted together, one order."""

    vendor: object
    origin: str
    lines: list[CheckoutLine]
    currency: str
    method: CheckoutShippingMethod | None = None
    # The package's part of the pricing path (promotions): discounts with their funders.
    pricing: PackagePricing | None = None

    @property
    def subtotal(self) -> Money:
        amount = sum((line.price_amount * line.quantity for line in self.lines), Decimal(0))
        return Money(quantize(amount, self.currency), self.currency)

    @property
    def shipping_price(self) -> Money | None:
        return self.method.price if self.method is not None else None

    @property
    def discount(self) -> Money:
        return self.pricing.discount if self.pricing is not None else Money(0, self.currency)

    @property
    def total(self) -> Money:
        return self.subtotal + (self.shipping_price or Money(0, self.currency)) - self.discount

    @property
    def weights(self) -> list[Decimal]:
        return [line.variant.weight_kg * line.quantity for line in self.lines]

    def logistics_package(self) -> Package:
        return Package(parcels=orders_services.package_parcels(self.weights), vendor_id=self.vendor.pk)


@dataclass
class CheckoutSummary:
    checkout: Checkout
    lines: list[CheckoutLine]
    packages: list[CheckoutPackage]
    problems: list[CheckoutProblem] = field(default_factory=list)
    methods: list[CheckoutShippingMethod] = field(default_factory=list)
    pricing: Pricing | None = None

    @property
    def currency(self) -> str:
        return self.checkout.currency

    @property
    def subtotal(self) -> Money:
        return sum((p.subtotal for p in self.packages), Money(0, self.currency))

    @property
    def shipping_price(self) -> Money:
        return sum((p.shipping_price or Money(0, self.currency) for p in self.packages), Money(0, self.currency))

    @property
    def discount(self) -> Money:
        return sum((p.discount for p in self.packages), Money(0, self.currency))

    @property
    def total(self) -> Money:
        return self.subtotal + self.shipping_price - self.discount

    @property
    def discounts_fingerprint(self) -> list:
        return self.pricing.fingerprint_data() if self.pricing is not None else []


@dataclass(frozen=True)
class CheckoutCompletion:
    checkout: Checkout
    orders: list[Order]
    payment: object


# --- Reading ------------------------------------------------------------------------


def checkout_lines(checkout: Checkout) -> list[CheckoutLine]:
    return list(
        checkout.lines.select_related("variant__product__vendor", "variant__product__category").order_by("pk")
    )


def line_problem(line: CheckoutLine, variant: ProductVariant, currency: str) -> CheckoutProblem | None:
    """What stops this line from being bought now, if anything (prices aside)."""
    product = variant.product
    if product.status != ListingStatus.PUBLISHED or not vendor_is_sellable(product.vendor):
        return CheckoutProblem(
            E.PRODUCT_UNAVAILABLE,
            _("%(product)s (%(sku)s) is no longer available.") % {"product": product.name, "sku": variant.sku},
            line,
        )
    if variant.currency != currency:
        return CheckoutProblem(
            E.CURRENCY_MISMATCH,
            _("%(product)s is sold in %(currency)s.") % {"product": product.name, "currency": variant.currency},
            line,
        )
    if variant.stock < line.quantity:
        return CheckoutProblem(
            E.INSUFFICIENT_STOCK,
            _("Only %(count)s of %(product)s (%(sku)s) left.")
            % {"count": variant.stock, "product": product.name, "sku": variant.sku},
            line,
        )
    return None


def checkout_summary(
    checkout: Checkout,
    lines: list[CheckoutLine] | None = None,
    *,
    with_pricing: bool = True,
    methods: list[CheckoutShippingMethod] | None = None,
    origins: dict[int, str] | None = None,
) -> CheckoutSummary:
    """Lines grouped into vendor packages with totals and what still stops completion, priced
    through the promotions' pricing path (with_pricing=False: before any discount). `methods` and
    `origins`: the checkout's shipping methods and its vendors' origins, when already read in this
    transaction."""
    lines = checkout_lines(checkout) if lines is None else lines
    all_methods = list(checkout.shipping_methods.all()) if methods is None else methods
    methods = {m.vendor_id: m for m in all_methods}
    grouped: OrderedDict[int, list[CheckoutLine]] = OrderedDict()
    for line in sorted(lines, key=lambda line: (line.variant.vendor_id, line.pk)):
        grouped.setdefault(line.variant.vendor_id, []).append(line)
    if origins is None or not set(grouped) <= set(origins):
        origins = vendor_shipping_origins(grouped.keys())
    packages = [
        CheckoutPackage(
            vendor=vendor_lines[0].variant.product.vendor,
            origin=origins[vendor_id],
            lines=vendor_lines,
            currency=checkout.currency,
            method=methods.get(vendor_id),
        )
        for vendor_id, vendor_lines in grouped.items()
    ]
    problems = [p for line in lines if (p := line_problem(line, line.variant, checkout.currency))]
    if lines and not checkout.has_shipping_address:
        problems.append(CheckoutProblem(E.SHIPPING_ADDRESS_REQUIRED, _("Add a shipping address.")))
    for package in packages:
        if package.method is None:
            problems.append(
                CheckoutProblem(
                    E.SHIPPING_METHOD_REQUIRED,
                    _("Choose how %(store)s ships.") % {"store": package.vendor.name},
                    vendor_id=package.vendor.pk,
                )
            )
    pricing = None
    if with_pricing and packages:
        pricing = promotions.checkout_pricing(checkout, packages)
        for package in packages:
            package.pricing = pricing.packages[package.vendor.pk]
    return CheckoutSummary(
        checkout=checkout, lines=lines, packages=packages, problems=problems, methods=all_methods, pricing=pricing
    )


def package_quotes(
    checkout: Checkout, package: CheckoutPackage, *, carrier: str | None = None, manager: PluginsManager | None = None
) -> list[Quote]:
    """Carriers' offers for one vendor package to the checkout's address (none without an address)."""
    if not checkout.shipping_region:
        return []
    try:
        result = logistics.quote_package(
            package=package.logistics_package(),
            origin=package.origin,
            destination=checkout.shipping_region,
            carrier=carrier,
            manager=manager,
        )
    except DomainError as error:
        logger.info("No quotes for checkout %s, vendor %s: %s", checkout.pk, package.vendor.pk, error.message)
        return []
    return [q for q in result.quotes if q.price.currency.code == checkout.currency]


# --- Changes ------------------------------------------------------------------------


def _require_open(checkout: Checkout) -> None:
    if checkout.completed_at is not None:
        raise DomainError(E.ALREADY_COMPLETED, _("This checkout was completed; start a new one."))


def _clean_email(email: str | None) -> str:
    email = (email or "").strip().lower()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(E.INVALID, _("%(email)s is not an email address.") % {"email": repr(email)}, field="email") from exc
    return email


def _variants(variant_ids) -> dict[int, ProductVariant]:
    return {
        v.pk: v
        for v in ProductVariant.objects.select_related("product__vendor", "product__category").filter(pk__in=variant_ids)
    }


def _check_buyable(variant: ProductVariant | None, quantity: int, currency: str, field_name: str = "lines") -> None:
    """A line being added or changed must be buyable in that quantity right now."""
    if variant is None:
        raise DomainError(E.NOT_FOUND, _("No such product variant."), field=field_name)
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise DomainError(E.INVALID, _("Quantities are 1 to %(most)s.") % {"most": MAX_LINE_QUANTITY}, field=field_name)
    probe = CheckoutLine(variant=variant, quantity=quantity, price_amount=variant.price_amount)
    problem = line_problem(probe, variant, currency)
    if problem is not None:
        raise DomainError(problem.code, problem.message, field=field_name)


def _merge(lines: list[LineInput]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise DomainError(E.INVALID, _("Quantities are whole numbers."), field="lines")
        merged[line.variant_id] = merged.get(line.variant_id, 0) + line.quantity
    return merged


def _set_quantities(checkout: Checkout, wanted: dict[int, int], *, add: bool) -> None:
    existing = {line.variant_id: line for line in checkout.lines.all()}
    variants = _variants(wanted.keys())
    for variant_id, quantity in wanted.items():
        line = existing.get(variant_id)
        if not add and quantity == 0:
            if line is not None:
                line.delete()
            continue
        target = (line.quantity if line is not None and add else 0) + quantity
        if add and quantity < 1:
            raise DomainError(E.INVALID, _("Add at least one."), field="lines")
        variant = variants.get(variant_id)
        _check_buyable(variant, target, checkout.currency)
        if line is None:
            if len(existing) >= MAX_LINES:
                raise DomainError(E.INVALID, _("A checkout holds at most %(most)s lines.") % {"most": MAX_LINES}, field="lines")
            existing[variant_id] = CheckoutLine.objects.create(
                checkout=checkout, variant=variant, quantity=target, price_amount=variant.price_amount
            )
        else:
            line.quantity = target
            line.price_amount = variant.price_amount
            line.save(update_fields=["quantity", "price_amount"])


def _refresh(checkout: Checkout, *, manager: PluginsManager | None = None) -> None:
    """After any change: lines at today's prices, shipping choices re-quoted (or dropped when no longer offered)."""
    lines = checkout_lines(checkout)
    repriced = [line for line in lines if line.price_amount != line.variant.price_amount]
    for line in repriced:
        line.price_amount = line.variant.price_amount
    if repriced:
        CheckoutLine.objects.bulk_update(repriced, ["price_amount"])
    _requote_methods(checkout, lines, manager=manager)
    checkout.save(update_fields=["updated_at"])


def _quote_fingerprint(checkout: Checkout, package: CheckoutPackage, carrier_id: str, service_code: str, version: int) -> str:
    """What a package's shipping quote depends on: its lines and quantities, their parcels and
    weights, the origin and the destination, the carrier service, the currency and the carrier
    data version (rates, zones, pricing events, negotiated rates, quotas, carrier settings)."""
    basis = {
        "lines": sorted([line.variant_id, line.quantity] for line in package.lines),
        "package": asdict(package.logistics_package()),
        "origin": package.origin,
        "destination": checkout.shipping_region,
        "currency": checkout.currency,
        "carrier": carrier_id,
        "service": service_code,
        "version": version,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def _quote_reusable(method: CheckoutShippingMethod, fingerprint: str, now) -> bool:
    return bool(
        settings.CHECKOUT_QUOTE_MAX_AGE_SECONDS > 0
        and method.quote_fingerprint == fingerprint
        and method.quote_valid_until is not None
        and now < method.quote_valid_until
    )


def _requote_methods(checkout: Checkout, lines: list[CheckoutLine], *, manager=None) -> bool:
    """Re-quote each chosen shipping method whose stored quote is stale; returns whether a chosen price changed.

    A stored quote is reused when its fingerprint (inputs and carrier data version) is unchanged,
    it is younger than CHECKOUT_QUOTE_MAX_AGE_SECONDS and no pricing-event boundary of its carrier
    passed since (quote_valid_until); otherwise the package is quoted again as the shopper would see it.
    """
    # Quotes need the packages, not their discounts.
    summary = checkout_summary(checkout, lines, with_pricing=False)
    vendors = {p.vendor.pk for p in summary.packages}
    stale = [m.pk for m in summary.methods if m.vendor_id not in vendors]
    if stale:
        CheckoutShippingMethod.objects.filter(pk__in=stale).delete()
    chosen = [package for package in summary.packages if package.method is not None]
    if not chosen:
        return False
    # Read before quoting: a carrier change committed while quoting leaves the new quote stale.
    version = logistics_versions.carrier_data_version()
    now = timezone.now()
    changed = False
    for package in chosen:
        method = package.method
        fingerprint = _quote_fingerprint(checkout, package, method.carrier_id, method.service_code, version)
        if _quote_reusable(method, fingerprint, now):
            continue
        quote = next(
            (q for q in package_quotes(checkout, package, manager=manager)
             if q.carrier == method.carrier_id and q.service_code == method.service_code),
            None,
        )
        if quote is None:
            # No longer offered: completion then asks for a new choice (SHIPPING_METHOD_REQUIRED).
            method.delete()
            continue
        changed = changed or quote.price.amount != method.price_amount
        _method_from_quote(method, quote, fingerprint=fingerprint, at=now)
        method.save()
    return changed


def _method_from_quote(method: CheckoutShippingMethod, quote: Quote, *, fingerprint: str, at) -> None:
    method.carrier_id = quote.carrier
    method.carrier_name = quote.carrier_name
    method.service_code = quote.service_code
    method.service_name = quote.service_name
    method.price_amount = quote.price.amount
    method.currency = quote.price.currency.code
    method.promised_days = quote.promised_days
    method.quote_fingerprint = fingerprint
    method.quoted_at = at
    method.quote_valid_until = min(
        at + timedelta(seconds=settings.CHECKOUT_QUOTE_MAX_AGE_SECONDS),
        logistics.quote_stable_until(carrier_id=quote.carrier, service_code=quote.service_code, at=at),
    )


def checkout_create(
    *,
    user,
    email: str | None = None,
    lines: list[LineInput],
    shipping_address: AddressInput | None = None,
    manager: PluginsManager | None = None,
) -> Checkout:
    """A new checkout for a guest (the id is their handle) or a signed-in shopper."""
    signed_in = user is not None and user.is_authenticated
    checkout = Checkout.objects.create(
        user=user if signed_in else None,
        email=_clean_email(email) or (user.email if signed_in else ""),
        language_code=supported_language(translation.get_language()),
        currency=settings.DEFAULT_CURRENCY,
    )
    _set_quantities(checkout, _merge(lines), add=True)
    analytics.added_to_cart(checkout, [line.variant_id for line in lines])
    if shipping_address is not None:
        _apply_address(checkout, shipping_address)
    _refresh(checkout, manager=manager)
    return checkout


def checkout_lines_add(*, checkout: Checkout, lines: list[LineInput], manager=None) -> Checkout:
    """Add quantities (to existing lines of the same variant)."""
    _require_open(checkout)
    _set_quantities(checkout, _merge(lines), add=True)
    analytics.added_to_cart(checkout, [line.variant_id for line in lines])
    _refresh(checkout, manager=manager)
    return checkout


def checkout_lines_update(*, checkout: Checkout, lines: list[LineInput], manager=None) -> Checkout:
    """Set quantities; 0 removes the line."""
    _require_open(checkout)
    wanted: dict[int, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 0:
            raise DomainError(E.INVALID, _("Quantities are whole numbers, zero or more."), field="lines")
        wanted[line.variant_id] = line.quantity
    _set_quantities(checkout, wanted, add=False)
    _refresh(checkout, manager=manager)
    return checkout


def checkout_lines_delete(*, checkout: Checkout, line_ids: list[int], manager=None) -> Checkout:
    _require_open(checkout)
    found = set(checkout.lines.filter(pk__in=line_ids).values_list("pk", flat=True))
    missing = [pk for pk in line_ids if pk not in found]
    if missing:
        raise DomainError(E.NOT_FOUND, _("No such line in this checkout."), field="linesIds")
    checkout.lines.filter(pk__in=found).delete()
    _refresh(checkout, manager=manager)
    return checkout


def checkout_email_update(*, checkout: Checkout, email: str) -> Checkout:
    _require_open(checkout)
    email = _clean_email(email)
    if not email:
        raise DomainError(E.REQUIRED, _("Give an email address."), field="email")
    checkout.email = email
    checkout.language_code = supported_language(translation.get_language())
    checkout.save(update_fields=["email", "language_code", "updated_at"])
    return checkout


def _apply_address(checkout: Checkout, address: AddressInput) -> None:
    region = (address.region or "").strip()
    if not region:
        raise DomainError(E.REQUIRED, _("Give the region (province or city code)."), field="region")
    if region not in regions_by_code([region]):
        raise DomainError(E.UNKNOWN_REGION, _("No region with code %(region)s.") % {"region": repr(region)}, field="region")
    street = (address.street_address_1 or "").strip()
    if not street:
        raise DomainError(E.REQUIRED, _("Give the street address."), field="streetAddress1")
    analytics.checkout_started(checkout)
    checkout.shipping_region = region
    checkout.shipping_street_address_1 = street[:256]
    checkout.shipping_street_address_2 = (address.street_address_2 or "").strip()[:256]
    checkout.shipping_first_name = (address.first_name or "").strip()[:128]
    checkout.shipping_last_name = (address.last_name or "").strip()[:128]
    checkout.shipping_phone = (address.phone or "").strip()[:32]
    checkout.shipping_city = (address.city or "").strip()[:128]
    checkout.shipping_postal_code = (address.postal_code or "").strip()[:20]
    checkout.save()


def checkout_shipping_address_update(*, checkout: Checkout, address: AddressInput, manager=None) -> Checkout:
    """Set the address; chosen shipping is re-quoted to it (and dropped where no longer offered)."""
    _require_open(checkout)
    _apply_address(checkout, address)
    _refresh(checkout, manager=manager)
    return checkout


def checkout_shipping_method_update(
    *, checkout: Checkout, vendor_id: int, carrier: str, service_code: str | None = None, manager=None
) -> Checkout:
    """Choose a carrier (and service; the carrier's cheapest when not given) for one vendor's package."""
    _require_open(checkout)
    if not checkout.has_shipping_address:
        raise DomainError(E.SHIPPING_ADDRESS_REQUIRED, _("Add a shipping address first."), field="id")
    summary = checkout_summary(checkout)
    package = next((p for p in summary.packages if p.vendor.pk == vendor_id), None)
    if package is None:
        raise DomainError(E.NOT_FOUND, _("This checkout has nothing from that store."), field="vendor")
    version = logistics_versions.carrier_data_version()
    now = timezone.now()
    quotes = [
        q for q in package_quotes(checkout, package, manager=manager)
        if q.carrier == carrier and (not service_code or q.service_code == service_code)
    ]
    if not quotes:
        raise DomainError(
            E.SHIPPING_METHOD_NOT_AVAILABLE,
            _("%(carrier)s does not ship this package to this address.")
            % {"carrier": " ".join(filter(None, [carrier, service_code]))},
            field="carrier",
        )
    method = package.method or CheckoutShippingMethod(checkout=checkout, vendor=package.vendor)
    cheapest = quotes[0]  # cheapest first
    _method_from_quote(
        method, cheapest, at=now,
        fingerprint=_quote_fingerprint(checkout, package, cheapest.carrier, cheapest.service_code, version),
    )
    method.save()
    checkout.save(update_fields=["updated_at"])
    return checkout


# --- Completion ---------------------------------------------------------------------


def _completion(checkout: Checkout) -> CheckoutCompletion:
    orders = list(Order.objects.filter(checkout_token=checkout.pk).select_related("vendor").order_by("pk"))
    return CheckoutCompletion(checkout=checkout, orders=orders, payment=checkout.payment)


def _payment_key(checkout: Checkout) -> str:
    """Declined attempts move the key on (a new card is a new payment); unknown outcomes keep it."""
    settled = CheckoutPaymentAttempt.objects.filter(checkout=checkout, retry_same_key=False).count()
    return f"checkout:{checkout.pk}:{settled}"


def _precheck(checkout: Checkout, *, manager=None) -> None:
    """Before locking anything: bring prices up to date and say so when they moved."""
    lines = checkout_lines(checkout)
    if not lines:
        raise DomainError(E.EMPTY_CHECKOUT, _("The checkout has no lines."), field="lines")
    repriced = [line for line in lines if line.price_amount != line.variant.price_amount]
    for line in repriced:
        line.price_amount = line.variant.price_amount
    if repriced:
        CheckoutLine.objects.bulk_update(repriced, ["price_amount"])
    shipping_changed = _requote_methods(checkout, lines, manager=manager)
    if repriced or shipping_changed:
        raise DomainError(E.PRICE_CHANGED, _("Prices changed since you last looked; check the new totals."), field="lines")


# Gateways that may still be paid with a token at checkoutComplete (no client confirmation step):
# the embedded dummy gateway, for tests and the demo data. Every other session gateway takes sessions.
TOKEN_GATEWAYS = ("dummy",)

# Payment failures: (our code, whether a retry keeps the payment's idempotency key).
_PAYMENT_FAILURES = {
    PaymentErrorCode.PAYMENT_DECLINED: (E.PAYMENT_DECLINED, False),
    PaymentErrorCode.INVALID: (E.PAYMENT_DECLINED, False),
    PaymentErrorCode.IDEMPOTENCY_CONFLICT: (E.PAYMENT_ERROR, False),
    PaymentErrorCode.PAYMENT_TIMEOUT: (E.PAYMENT_TIMEOUT, True),
    PaymentErrorCode.GATEWAY_ERROR: (E.PAYMENT_ERROR, True),
    PaymentErrorCode.GATEWAY_NOT_AVAILABLE: (E.GATEWAY_NOT_AVAILABLE, True),
    PaymentErrorCode.INVALID_TRANSITION: (E.PAYMENT_ERROR, False),
}


def checkout_complete(
    *, checkout: Checkout, user, gateway: str = "", token: str = "", payment_session: str = "",
    manager: PluginsManager | None = None,
) -> CheckoutCompletion:
    """Place one order per vendor, take one payment for all of them and hold it in escrow.

    All or nothing, in one transaction: variants are locked (in id order) and
    re-checked, stock is taken, orders are placed, the payment is taken and the
    escrow hold posted; a declined or failed payment rolls everything back (the
    failed attempt is recorded afterwards). Completing a completed checkout returns
    its orders and payment. Call it outside a transaction.
    """
    if checkout.completed_at is not None:
        return _completion(checkout)
    if (payment_session or "").strip():
        return checkout_complete_session(checkout=checkout, user=user, payment_session=payment_session, manager=manager)
    gateway = (gateway or "").strip()
    if not gateway:
        raise DomainError(E.REQUIRED, _("Choose a payment gateway."), field="gateway")
    plugin = (manager or get_plugins_manager()).get_plugin(gateway)
    if plugin is not None and plugin.PLUGIN_ID not in TOKEN_GATEWAYS and (
        type(plugin).create_payment_session is not BasePlugin.create_payment_session
    ):
        raise DomainError(
            E.REQUIRED, _("This gateway is paid through a payment session (checkoutPaymentCreate)."),
            field="paymentSession",
        )
    if not (token or "").strip():
        raise DomainError(E.REQUIRED, _("A payment token is required."), field="token")
    key = _payment_key(checkout)
    try:
        completion, done_before = _complete_if_unchanged(
            checkout, user=user, gateway=gateway, token=token, key=key, manager=manager
        )
        if done_before:
            return completion
        if completion is None:
            # Something moved (a price, a stale shipping quote): brought up to date before anything is locked.
            _precheck(checkout, manager=manager)
            with transaction.atomic():
                locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
                if locked.completed_at is not None:
                    return _completion(locked)
                completion = _complete_locked(locked, user=user, gateway=gateway, token=token, key=key, manager=manager)
    except DomainError as error:
        if isinstance(error.code, PaymentErrorCode) and error.code in _PAYMENT_FAILURES:
            code, same_key = _PAYMENT_FAILURES[error.code]
            CheckoutPaymentAttempt.objects.create(
                checkout=checkout, gateway=gateway, idempotency_key=key, error_code=error.code.value,
                message=error.message[:2000], retry_same_key=same_key,
            )
            raise DomainError(code, error.message, field="payment") from error
        if not isinstance(error.code, CheckoutErrorCode):
            raise orders_services.translate_error(error, CheckoutErrorCode, E.INVALID) from error
        raise
    # Group buying: the groups the paid orders complete fill now, with no variant row locked.
    promotions_groups.fill_groups_of(completion.orders)
    # The caller's instance shows the result too.
    checkout.completed_at, checkout.payment = completion.checkout.completed_at, completion.checkout.payment
    return completion


def _unchanged_since_quoted(checkout: Checkout, lines: list[CheckoutLine]) -> dict | None:
    """Under the checkout's lock: what completion reads, when no line's price moved and every chosen
    shipping quote may be reused (see _requote_methods); None when the slow path must bring the
    checkout up to date first (outside any lock: quoting may call a carrier)."""
    if not lines or any(line.price_amount != line.variant.price_amount for line in lines):
        return None
    summary = checkout_summary(checkout, lines, with_pricing=False)
    vendors = {p.vendor.pk for p in summary.packages}
    if any(m.vendor_id not in vendors for m in summary.methods):
        return None
    chosen = [p for p in summary.packages if p.method is not None]
    if chosen:
        version = logistics_versions.carrier_data_version()
        now = timezone.now()
        for package in chosen:
            fingerprint = _quote_fingerprint(checkout, package, package.method.carrier_id, package.method.service_code, version)
            if not _quote_reusable(package.method, fingerprint, now):
                return None
    return {"lines": lines, "methods": summary.methods, "origins": {p.vendor.pk: p.origin for p in summary.packages}}


def _complete_if_unchanged(
    checkout: Checkout, *, user, gateway: str, token: str, key: str, manager
) -> tuple[CheckoutCompletion | None, bool]:
    """The usual completion, in one transaction under the checkout's lock, reading each row once.
    Returns (completion, whether the checkout was completed before); (None, False), with nothing
    done, when a price or a shipping quote must be brought up to date first."""
    with transaction.atomic():
        locked = Checkout.objects.select_for_update(of=("self",)).select_related("user").get(pk=checkout.pk)
        if locked.completed_at is not None:
            return _completion(locked), True
        read = _unchanged_since_quoted(locked, checkout_lines(locked))
        if read is None:
            return None, False
        completion = _complete_locked(locked, user=user, gateway=gateway, token=token, key=key, manager=manager, read=read)
        return completion, False


def _complete_locked(
    checkout: Checkout, *, user, gateway: str, token: str, key: str, manager, read=None
) -> CheckoutCompletion:
    # Fresh, locked rows: what others bought since the shopper looked counts now.
    lines, summary, buyer, email = _checked_for_payment(checkout, user, prices_unchanged=True, **(read or {}))
    # The orders' notices (placed, then paid) are written together once both are known.
    with notifications.batched():
        stock_take({line.variant: line.quantity for line in lines})
        now = timezone.now()
        orders = _place_orders(checkout, summary, buyer=buyer, email=email, at=now)
        total = sum((order.total for order in orders), Money(0, checkout.currency))
        payment = payments.payment_process(
            gateway=gateway,
            token=token,
            amount=total,
            idempotency_key=key,
            customer=buyer,
            customer_email=email,
            purpose=PaymentPurpose.CHECKOUT,
            description=f"Checkout {checkout.pk}",
            metadata={"checkout": str(checkout.pk), "orders": ",".join(str(o.pk) for o in orders)},
            manager=manager,
        )
        if payment.status == PaymentStatus.CAPTURED:
            orders_services.orders_mark_paid(orders=orders, payment=payment, fill_groups=False)
        else:
            # Authorized or pending at the gateway: the orders keep their stock for a while.
            until = now + timedelta(minutes=settings.ORDER_UNPAID_RESERVATION_MINUTES)
            orders_services.orders_reserve(orders=orders, payment=payment, until=until)
    checkout.completed_at = now
    checkout.payment = payment
    checkout.save(update_fields=["completed_at", "payment", "updated_at"])
    # Paid with a token after all: the checkout's open payment sessions hold no stock any more.
    for open_session in PaymentSession.objects.select_for_update().filter(checkout=checkout, state__in=OPEN_STATES):
        if session_machine.can(open_session.state, S.CANCELLED):
            session_machine.apply(open_session, S.CANCELLED, field="state")
        release_reservations(open_session)
    return CheckoutCompletion(checkout=checkout, orders=orders, payment=payment)


def checkouts_delete_stale(*, now=None, batch_size: int | None = None) -> int:
    """Forget checkouts nobody touched for CHECKOUT_TTL_DAYS (they hold no stock, so nothing else to undo).

    In batches of CHECKOUT_DELETE_BATCH_SIZE (keyset over the primary key), each one transaction under
    row locks that an overlapping run skips (it takes the next batch); the batch's lines, shipping
    methods, sessions and attempts go with one DELETE each. A batch that fails is deleted again
    checkout by checkout, so one that cannot go never holds back the others.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.CHECKOUT_DELETE_BATCH_SIZE
    cutoff = now - timedelta(days=settings.CHECKOUT_TTL_DAYS)
    stale = Checkout.objects.filter(completed_at__isnull=True, updated_at__lt=cutoff)
    deleted, after = 0, 0
    while True:
        ids = list(stale.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        after = ids[-1]
        try:
            gone = _delete_checkouts(stale, ids)
        except Exception:
            if len(ids) == 1:
                logger.exception("Stale checkout %s could not be deleted", ids[0])
                continue
            logger.warning("Deleting stale checkouts %s to %s in one batch failed; deleting them one by one", ids[0], ids[-1])
            gone = []
            for pk in ids:
                try:
                    gone += _delete_checkouts(stale, [pk])
                except Exception:
                    logger.exception("Stale checkout %s could not be deleted", pk)
        deleted += len(gone)
        record_processed("checkout", *gone)


def _delete_checkouts(stale, ids: list) -> list:
    """One transaction: those of `ids` still stale, locked (rows others hold skipped) and deleted."""
    with transaction.atomic():
        locked = list(
            stale.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked)
            .filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)
        )
        if locked:
            stale.filter(pk__in=locked).delete()
    return locked


# --- Payment sessions ---------------------------------------------------------------
#
# checkout_payment_create reserves the stock and starts the gateway's payment; the shopper
# confirms it on the client; checkout_complete(payment_session=...) or the gateway's webhook
# (whichever comes first) verifies it with the gateway and places the orders once. The
# gateway is only ever asked outside a transaction: no row lock is held while it answers.


def _session_error(response, *, fallback: CheckoutErrorCode = E.PAYMENT_ERROR) -> DomainError:
    if response.error_code == GatewayErrorCode.TIMEOUT:
        return DomainError(
            E.PAYMENT_TIMEOUT, _("The payment gateway did not answer in time; try again."), field="payment"
        )
    if response.error_code in (GatewayErrorCode.DECLINED, GatewayErrorCode.INVALID_REQUEST):
        return DomainError(E.PAYMENT_DECLINED, response.error_message or _("The payment was declined."), field="payment")
    return DomainError(fallback, _("The payment gateway failed; try again."), field="payment")


def _record_attempt(session: PaymentSession, response, hook: str) -> None:
    """A failed gateway call is kept (also when everything else is rolled back)."""
    code = response.error_code.value if response.error_code else "error"
    CheckoutPaymentAttempt.objects.create(
        checkout_id=session.checkout_id, gateway=session.gateway, idempotency_key=f"{session.idempotency_key}:{hook}",
        error_code=code, message=(response.error_message or "")[:2000],
        retry_same_key=response.error_code in (GatewayErrorCode.TIMEOUT, GatewayErrorCode.ERROR, None),
    )
    PaymentSession.objects.filter(pk=session.pk).update(
        error_code=code, error_message=(response.error_message or "")[:2000], updated_at=timezone.now()
    )


def _checked_for_payment(
    checkout: Checkout, user, *, prices_unchanged: bool = False, lines=None, methods=None, origins=None
):
    """Under the checkout's lock: what would be placed now, checked. Locks the variants.

    Returns (lines, summary, buyer, email). Stock held by other sessions does not count as available.
    With prices_unchanged (a payment taken now, with a token), a line whose variant's price
    changed since it was added is refused (PRICE_CHANGED); a payment session's amount is
    compared with the checkout's instead. `lines`, `methods`, `origins`: already read under the
    checkout's lock (completion's fast path), not read again.
    """
    lines = checkout_lines(checkout) if lines is None else lines
    if not lines:
        raise DomainError(E.EMPTY_CHECKOUT, _("The checkout has no lines."), field="lines")
    buyer = checkout.user or (user if user is not None and user.is_authenticated else None)
    email = checkout.email or (buyer.email if buyer is not None else "")
    if not email:
        raise DomainError(E.EMAIL_REQUIRED, _("Give an email address for the order."), field="email")
    if not checkout.has_shipping_address:
        raise DomainError(E.SHIPPING_ADDRESS_REQUIRED, _("Add a shipping address."), field="shippingAddress")
    variants = stock_lock(line.variant_id for line in lines)
    available = available_quantities(variants.values(), exclude_checkout=checkout)
    problems = []
    for line in lines:
        line.variant = variants[line.variant_id]
        problem = line_problem(line, line.variant, checkout.currency)
        if problem is None and available[line.variant_id] < line.quantity:
            problem = CheckoutProblem(
                E.INSUFFICIENT_STOCK,
                _("Only %(count)s of %(product)s (%(sku)s) left.")
                % {"count": available[line.variant_id], "product": line.variant.product.name, "sku": line.variant.sku},
                line,
            )
        if problem is not None:
            problems.append(DomainError(problem.code, problem.message, field="lines"))
        elif prices_unchanged and line.variant.price_amount != line.price_amount:
            problems.append(
                DomainError(E.PRICE_CHANGED, _("The price of %(sku)s changed.") % {"sku": line.variant.sku}, field="lines")
            )
    if problems:
        raise DomainErrors(problems)
    summary = checkout_summary(checkout, lines, methods=methods, origins=origins)
    missing = [p for p in summary.packages if p.method is None]
    if missing:
        raise DomainErrors(
            [
                DomainError(
                    E.SHIPPING_METHOD_REQUIRED, _("Choose how %(store)s ships.") % {"store": p.vendor.name},
                    field="shippingMethod",
                )
                for p in missing
            ]
        )
    _require_vouchers_usable(summary)
    return lines, summary, buyer, email


def _close_at_gateway(session: PaymentSession, manager) -> bool:
    """Close (or void) the session's payment at the gateway; outside any transaction. True when it did."""
    if not session.psp_reference:
        return True
    response = payments.gateway_call(
        manager,
        session.gateway,
        "close_payment_session",
        SessionQuery(
            psp_reference=session.psp_reference, reference=session.reference, amount=session.amount,
            currency=session.currency, idempotency_key=f"{session.idempotency_key}:close",
        ),
    )
    if not response.success:
        _record_attempt(session, response, "close")
        logger.warning("Payment session %s: the gateway did not close it: %s", session.reference, response.error_message)
    return response.success


def _end_session(session: PaymentSession, state: str, *, error=None) -> None:
    """Move an open session to FAILED / EXPIRED / CANCELLED and free its stock (own transaction)."""
    with transaction.atomic():
        locked = PaymentSession.objects.select_for_update().get(pk=session.pk)
        if locked.state not in OPEN_STATES or not session_machine.can(locked.state, state):
            return
        if error is not None:
            locked.error_code, locked.error_message = error.code.value, error.message[:2000]
        session_machine.apply(locked, state, field="state", update_fields=["error_code", "error_message"])
        release_reservations(locked)
    session.state = state


def checkout_payment_create(
    *, checkout: Checkout, user, gateway: str, return_url: str = "", client_ip: str = "",
    manager: PluginsManager | None = None,
) -> PaymentSession:
    """Start paying for the checkout through a gateway: a PaymentSession with the client data.

    The stock is reserved for PAYMENT_SESSION_MINUTES first; the gateway is asked after that
    transaction. Asking again for the same checkout and gateway while nothing changed returns
    the same session (after a timeout it asks the gateway again under the same idempotency key);
    a changed checkout or another gateway cancels the open session and starts a new one.
    """
    _require_open(checkout)
    gateway = (gateway or "").strip()
    if not gateway:
        raise DomainError(E.REQUIRED, _("Choose a payment gateway."), field="gateway")
    return_url = (return_url or "").strip()
    if len(return_url) > 2000 or (return_url and not return_url.startswith(("https://", "http://"))):
        raise DomainError(E.INVALID, _("The return URL must be an http(s) address."), field="returnUrl")
    manager = manager or get_plugins_manager()
    _precheck(checkout, manager=manager)
    stale: list[PaymentSession] = []
    try:
        with transaction.atomic():
            locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
            _require_open(locked)
            lines, summary, buyer, email = _checked_for_payment(locked, user)
            total = summary.total
            payments.session_gateway(manager, gateway, total)
            fingerprint = checkout_fingerprint(locked, lines, summary.methods, summary.discounts_fingerprint)
            now = timezone.now()
            session = None
            for open_session in PaymentSession.objects.select_for_update().filter(
                checkout=locked, state__in=OPEN_STATES
            ):
                same = (
                    open_session.gateway == gateway and open_session.fingerprint == fingerprint
                    and open_session.total == total and open_session.expires_at > now
                )
                if same or open_session.state in PAID_STATES:
                    # Paid already (checkoutComplete places it), or the same request again.
                    session = open_session
                    continue
                session_machine.apply(open_session, S.CANCELLED, field="state")
                release_reservations(open_session)
                stale.append(open_session)
            if session is None:
                expires_at = now + timedelta(minutes=settings.PAYMENT_SESSION_MINUTES)
                session = PaymentSession.objects.create(
                    checkout=locked, gateway=gateway, amount=total.amount, currency=total.currency.code,
                    fingerprint=fingerprint, return_url=return_url, expires_at=expires_at,
                )
                quantities: dict[int, int] = {}
                for line in lines:
                    quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
                reserve_stock(session, quantities, expires_at=expires_at)
    except DomainError as error:
        if isinstance(error.code, PaymentErrorCode):
            raise orders_services.translate_error(error, CheckoutErrorCode, E.GATEWAY_NOT_AVAILABLE) from error
        raise
    for old in stale:
        _close_at_gateway(old, manager)
    if session.state == S.CREATED:
        session = _start_at_gateway(session, email=email, client_ip=client_ip, manager=manager)
    return session


def _start_at_gateway(session: PaymentSession, *, email: str, client_ip: str, manager) -> PaymentSession:
    """Ask the gateway for its payment (outside any transaction), under the session's key."""
    PaymentSession.objects.filter(pk=session.pk).update(attempts=F("attempts") + 1)
    response = payments.gateway_call(
        manager,
        session.gateway,
        "create_payment_session",
        SessionData(
            amount=session.amount,
            currency=session.currency,
            reference=session.reference,
            idempotency_key=session.idempotency_key,
            capture=False,
            description=f"Checkout {session.checkout_id}",
            customer_email=email,
            return_url=session.return_url,
            client_ip=client_ip,
            expires_at=session.expires_at,
            metadata={"checkout": str(session.checkout_id), "reference": session.reference},
        ),
    )
    if not response.success:
        _record_attempt(session, response, "create")
        error = _session_error(response)
        if response.error_code in (GatewayErrorCode.DECLINED, GatewayErrorCode.INVALID_REQUEST):
            _end_session(session, S.FAILED, error=error)
        # A timeout or a gateway error keeps the session (and its stock): asking again reuses its key.
        raise error
    with transaction.atomic():
        locked = PaymentSession.objects.select_for_update().get(pk=session.pk)
        if locked.state == S.CREATED:
            locked.psp_reference = response.psp_reference
            locked.client_data = dict(response.client_data or {})
            locked.error_code, locked.error_message = "", ""
            session_machine.apply(
                locked, S.PENDING, field="state",
                update_fields=["psp_reference", "client_data", "error_code", "error_message"],
            )
    return locked


def _query_gateway(session: PaymentSession, manager):
    return payments.gateway_call(
        manager,
        session.gateway,
        "query_payment_session",
        SessionQuery(
            psp_reference=session.psp_reference, reference=session.reference, amount=session.amount,
            currency=session.currency, idempotency_key=f"{session.idempotency_key}:query",
        ),
    )


def checkout_complete_session(
    *, checkout: Checkout, user, payment_session: str, manager: PluginsManager | None = None
) -> CheckoutCompletion:
    """Place the orders of a checkout paid through a payment session (see payment_session_complete)."""
    reference = (payment_session or "").strip()
    session = PaymentSession.objects.filter(checkout=checkout, reference=reference).first() if reference else None
    if session is None:
        raise DomainError(E.NOT_FOUND, _("No such payment session for this checkout."), field="paymentSession")
    return payment_session_complete(session=session, user=user, manager=manager)


def payment_session_complete(
    *, session: PaymentSession, user=None, manager: PluginsManager | None = None
) -> CheckoutCompletion:
    """Verify the session with the gateway and place its checkout's orders, exactly once.

    checkoutComplete and the gateway's webhook both come here, in any order and at the same
    time: the gateway is asked first (no lock held), then the orders are placed under the
    session's row lock, where only the first caller finds it open. An authorized payment is
    captured after that transaction (see README: authorizations lapse after 7 days, escrow
    lasts longer, so the platform holds the captured money in escrow). A capture that times
    out leaves the orders placed and unpaid; completing again, the capture webhook or the
    unpaid orders' expiry settle it.
    """
    manager = manager or get_plugins_manager()
    session.refresh_from_db()
    if session.state == S.COMPLETED:
        return _completed_session(session, manager)
    if session.state not in OPEN_STATES:
        raise DomainError(E.PAYMENT_SESSION_CLOSED, _("This payment session is closed; start a new payment."), field="paymentSession")
    if not session.psp_reference:
        raise DomainError(E.PAYMENT_NOT_CONFIRMED, _("The payment has not started at the gateway yet; ask for it again."), field="paymentSession")
    response = _query_gateway(session, manager)
    if not response.success and response.status not in (GatewayStatus.FAILED, GatewayStatus.CANCELLED):
        _record_attempt(session, response, "query")
        raise _session_error(response)
    status = response.status
    if status in (GatewayStatus.FAILED, GatewayStatus.CANCELLED):
        error = DomainError(E.PAYMENT_DECLINED, response.error_message or _("The payment was declined."), field="payment")
        _end_session(session, S.FAILED, error=error)
        raise error
    if status not in (GatewayStatus.AUTHORIZED, GatewayStatus.CAPTURED):
        raise DomainError(
            E.PAYMENT_NOT_CONFIRMED, _("The payment is not confirmed yet; confirm it with the gateway first."),
            field="paymentSession",
        )
    paid = Money(quantize(response.amount, session.currency), session.currency) if response.amount is not None else None
    if paid is None or response.currency.upper() != session.currency or paid != session.total:
        error = DomainError(
            E.PAYMENT_AMOUNT_MISMATCH, _("The gateway reports another amount than this payment asked for."),
            field="payment",
        )
        _end_session(session, S.FAILED, error=error)
        _close_at_gateway(session, manager)
        raise error
    try:
        completion = _place_session(session, user=user, captured=status == GatewayStatus.CAPTURED)
    except (DomainError, DomainErrors) as error:
        first = error.errors[0] if isinstance(error, DomainErrors) else error
        # The money was taken for a checkout that can no longer be placed: give it back.
        session.refresh_from_db()
        if session.state in OPEN_STATES:
            _end_session(session, S.CANCELLED, error=first)
            _close_at_gateway(session, manager)
        raise
    return _completed_session(completion.checkout_session, manager, completion=completion)


@dataclass(frozen=True)
class _Placed:
    checkout_session: PaymentSession
    completion: CheckoutCompletion


def _completed_session(session: PaymentSession, manager, completion: _Placed | None = None) -> CheckoutCompletion:
    """A completed session's orders; its payment captured if it is still only authorized."""
    payment = session.payment
    if payment is not None and payment.status == PaymentStatus.AUTHORIZED:
        try:
            payments.payment_capture_unlocked(payment=payment, manager=manager)
        except DomainError as error:
            logger.warning("Payment session %s: capture not done yet: %s", session.reference, error.message)
    checkout = Checkout.objects.select_related("payment").get(pk=session.checkout_id)
    # Group buying: the groups the paid orders complete fill now, with no variant row locked.
    promotions_groups.fill_groups_of(list(Order.objects.filter(checkout_token=checkout.pk, group_hold=True)))
    return _completion(checkout)


def _place_session(session: PaymentSession, *, user, captured: bool):
    with transaction.atomic():
        # The checkout first, then the session: the order checkoutPaymentCreate locks them in.
        checkout = Checkout.objects.select_for_update().get(pk=session.checkout_id)
        locked = PaymentSession.objects.select_for_update().get(pk=session.pk)
        if locked.state == S.COMPLETED:
            return _Placed(locked, _completion(checkout))
        if locked.state not in OPEN_STATES:
            raise DomainError(E.PAYMENT_SESSION_CLOSED, _("This payment session is closed; start a new payment."), field="paymentSession")
        if checkout.completed_at is not None:
            raise DomainError(E.ALREADY_COMPLETED, _("This checkout was completed; start a new one."))
        lines, summary, buyer, email = _checked_for_payment(checkout, user)
        if checkout_fingerprint(checkout, lines, summary.methods, summary.discounts_fingerprint) != locked.fingerprint or summary.total != locked.total:
            raise DomainError(
                E.CHECKOUT_CHANGED, _("The checkout changed after the payment started; the payment is given back."),
                field="paymentSession",
            )
        paid_state = S.SUCCEEDED if captured else S.AUTHORIZED
        if locked.state != paid_state and session_machine.can(locked.state, paid_state):
            session_machine.apply(locked, paid_state, field="state")
        release_reservations(locked)
        stock_take({line.variant: line.quantity for line in lines})
        now = timezone.now()
        orders = _place_orders(checkout, summary, buyer=buyer, email=email, at=now)
        total = sum((order.total for order in orders), Money(0, checkout.currency))
        payment = payments.payment_record_session(
            gateway=locked.gateway, psp_reference=locked.psp_reference, amount=total, captured=captured,
            idempotency_key=locked.idempotency_key, customer=buyer, customer_email=email,
            metadata={"checkout": str(checkout.pk), "session": locked.reference, "orders": ",".join(str(o.pk) for o in orders)},
        )
        if payment.status == PaymentStatus.CAPTURED:
            orders_services.orders_mark_paid(orders=orders, payment=payment, fill_groups=False)
        else:
            until = now + timedelta(minutes=settings.ORDER_UNPAID_RESERVATION_MINUTES)
            orders_services.orders_reserve(orders=orders, payment=payment, until=until)
        locked.payment, locked.completed_at = payment, now
        session_machine.apply(locked, S.COMPLETED, field="state", update_fields=["payment", "completed_at"])
        checkout.completed_at, checkout.payment = now, payment
        checkout.save(update_fields=["completed_at", "payment", "updated_at"])
        return _Placed(locked, CheckoutCompletion(checkout=checkout, orders=orders, payment=payment))


def _placed_line(line: CheckoutLine, package: CheckoutPackage, currency: str):
    pricing = package.pricing
    return orders_services.PlacedLine(
        variant=line.variant, quantity=line.quantity, unit_price=line.unit_price(currency),
        store_discount=pricing.line_discount(line.pk, STORE).amount if pricing else Decimal(0),
        platform_discount=pricing.line_discount(line.pk, PLATFORM).amount if pricing else Decimal(0),
    )


def _require_vouchers_usable(summary: CheckoutSummary) -> None:
    """A voucher the shopper applied that ended or was used up meanwhile stops the completion: the
    shopper was shown a total with it and is not charged another one without being asked."""
    if summary.pricing is None:
        return
    gone = [pk for pk, reason in summary.pricing.skipped.items() if reason in promotions.UNAVAILABLE_REASONS]
    if gone:
        raise DomainError(
            E.VOUCHER_NOT_AVAILABLE,
            _("A voucher on this checkout can no longer be used; remove it to see the new total."),
            field="vouchers",
        )


def _place_orders(checkout: Checkout, summary: CheckoutSummary, *, buyer, email: str, at):
    """Orders as priced by the pricing path; the vouchers used are redeemed (and their limits
    enforced under their row locks) in the same transaction."""
    orders = orders_services.orders_place(
        checkout_token=checkout.pk,
        user=buyer,
        email=email,
        language_code=checkout.language_code,
        currency=checkout.currency,
        shipping_region=checkout.shipping_region,
        shipping_address=checkout.shipping_address_dict(),
        packages=[
            orders_services.PlacedPackage(
                vendor=package.vendor,
                origin=package.origin,
                lines=[_placed_line(line, package, checkout.currency) for line in package.lines],
                shipping=orders_services.ShippingChoice(
                    carrier=package.method.carrier_id,
                    service_code=package.method.service_code,
                    service_name=package.method.service_name,
                    price=package.method.price,
                    promised_days=package.method.promised_days,
                ),
                discount=package.discount.amount,
                subsidy=package.pricing.platform_funded.amount if package.pricing else Decimal(0),
            )
            for package in summary.packages
        ],
        at=at,
    )
    if summary.pricing is not None:
        try:
            promotions.redeem_at_placement(
                pricing=summary.pricing, orders=orders, user=buyer, email=email, checkout_token=checkout.pk, now=at
            )
        except DomainError as error:
            raise orders_services.translate_error(error, CheckoutErrorCode, E.VOUCHER_NOT_AVAILABLE) from error
    return orders


def payment_session_refresh(*, session: PaymentSession, manager: PluginsManager | None = None) -> PaymentSession:
    """Bring an open session up to what the gateway says: paid -> orders placed, failed -> closed."""
    manager = manager or get_plugins_manager()
    try:
        payment_session_complete(session=session, manager=manager)
    except DomainError as error:
        if error.code in (E.PAYMENT_TIMEOUT, E.PAYMENT_ERROR):
            raise
        logger.info("Payment session %s not completed: %s", session.reference, error.message)
    except DomainErrors as errors:
        logger.info("Payment session %s not completed: %s", session.reference, [e.message for e in errors.errors])
    session.refresh_from_db()
    return session


def on_session_event(gateway_id: str, event, manager) -> None:
    """payments' SESSION_EVENT_HANDLERS: a verified payment event about one of our sessions.

    The event only says "look": the session is verified with the gateway and completed
    (or closed) exactly as checkoutComplete would. A timeout raises, so the webhook is
    answered with an error and the gateway sends it again.
    """
    sessions = PaymentSession.objects.filter(gateway=gateway_id)
    session = None
    if event.psp_reference:
        session = sessions.filter(psp_reference=event.psp_reference).first()
    if session is None and getattr(event, "reference", ""):
        session = sessions.filter(reference=event.reference).first()
    if session is None or session.state not in OPEN_STATES:
        return
    payment_session_refresh(session=session, manager=manager)


def payment_sessions_expire(*, now=None, manager: PluginsManager | None = None, batch_size: int | None = None) -> int:
    """Close sessions whose time ran out and free their stock; returns how many expired.

    In batches of PAYMENT_SESSION_EXPIRY_BATCH_SIZE sessions (keyset over the primary key). A session
    the gateway knows (a psp reference) is asked there first, one by one and outside any transaction:
    one that was paid after all is completed instead; the others are closed at the gateway, and a
    gateway that does not answer leaves the session for the next run. The sessions to expire are then
    expired together in one transaction, under their row locks (on PostgreSQL skipping rows another
    run or the shopper holds), re-checked there, with one UPDATE and one DELETE of their
    reservations. A batch that fails is expired again session by session.
    """
    now = now or timezone.now()
    manager = manager or get_plugins_manager()
    batch_size = batch_size or settings.PAYMENT_SESSION_EXPIRY_BATCH_SIZE
    expired, after = 0, 0
    due = PaymentSession.objects.filter(state__in=OPEN_STATES, expires_at__lte=now)
    while True:
        sessions = list(due.filter(pk__gt=after).order_by("pk")[:batch_size])
        if not sessions:
            break
        after = sessions[-1].pk
        to_expire = []
        for session in sessions:
            if session.psp_reference:
                response = _query_gateway(session, manager)
                if response.success and response.status in (GatewayStatus.AUTHORIZED, GatewayStatus.CAPTURED):
                    try:
                        payment_session_complete(session=session, manager=manager)
                        record_processed("payment_session", session.reference)
                        continue
                    except (DomainError, DomainErrors):
                        session.refresh_from_db()
                        if session.state not in OPEN_STATES:
                            record_processed("payment_session", session.reference)
                            continue
                elif not response.success and response.error_code in (GatewayErrorCode.TIMEOUT, GatewayErrorCode.ERROR):
                    _record_attempt(session, response, "query")
                    continue
                if not _close_at_gateway(session, manager):
                    continue
            to_expire.append(session)
        try:
            done = _expire_sessions(to_expire)
        except Exception:
            if len(to_expire) <= 1:
                raise
            logger.warning("Expiring payment sessions %s to %s in one batch failed; expiring them one by one",
                           to_expire[0].pk, to_expire[-1].pk)
            done = []
            for session in to_expire:
                try:
                    done += _expire_sessions([session])
                except Exception:
                    logger.exception("Payment session %s did not expire", session.reference)
        expired += len(done)
        record_processed("payment_session", *done)
    return expired


def _expire_sessions(sessions: list[PaymentSession]) -> list[str]:
    """One transaction: the open sessions among these expired and their stock freed; their references."""
    if not sessions:
        return []
    skip = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        locked = list(
            PaymentSession.objects.select_for_update(skip_locked=skip)
            .filter(pk__in=[session.pk for session in sessions], state__in=OPEN_STATES)
            .only("pk", "reference", "state")
            .order_by("pk")
        )
        locked = [session for session in locked if session_machine.can(session.state, S.EXPIRED)]
        if not locked:
            return []
        ids = [session.pk for session in locked]
        stamp = timezone.now()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            PaymentSession.objects.filter(pk__in=chunk).update(state=S.EXPIRED, updated_at=stamp)
            StockReservation.objects.filter(session_id__in=chunk).delete()
    expired = {session.pk for session in locked}
    for session in sessions:
        if session.pk in expired:
            session.state = S.EXPIRED
    return [session.reference for session in locked]
