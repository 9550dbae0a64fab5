"""Checkout across stores: lines, address, one shipping choice per vendor package, completion.

Every change re-prices the lines and re-checks them (listing still published,
store still selling, enough stock) and re-quotes the chosen shipping; completion
does it again under row locks. A checkout holds no stock: stock is taken only in
checkout_complete, in the same transaction that places the orders, takes the
payment and holds it in escrow.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from backend.catalog.models import ListingStatus, ProductVariant
from backend.catalog.vendor_rules import vendor_is_sellable
from backend.core.exceptions import DomainError, DomainErrors
from backend.core.money import Money, quantize
from backend.core.periodic import record_processed
from backend.logistics import services as logistics
from backend.logistics.zones import regions_by_code
from backend.orders import services as orders_services
from backend.orders.models import Order
from backend.orders.selectors import vendor_shipping_origins
from backend.orders.stock import stock_lock, stock_take
from backend.payments import services as payments
from backend.payments.error_codes import PaymentErrorCode
from backend.payments.models import PaymentPurpose, PaymentStatus
from plugins.logistics.interface import Package, Quote
from plugins.manager import PluginsManager

from .error_codes import CheckoutErrorCode
from .models import Checkout, CheckoutLine, CheckoutPaymentAttempt, CheckoutShippingMethod

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

    @property
    def subtotal(self) -> Money:
        amount = sum((line.price_amount * line.quantity for line in self.lines), Decimal(0))
        return Money(quantize(amount, self.currency), self.currency)

    @property
    def shipping_price(self) -> Money | None:
        return self.method.price if self.method is not None else None

    @property
    def total(self) -> Money:
        return self.subtotal + (self.shipping_price or Money(0, self.currency))

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
    def total(self) -> Money:
        return self.subtotal + self.shipping_price


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
        return CheckoutProblem(E.PRODUCT_UNAVAILABLE, f"{product.name} ({variant.sku}) is no longer available.", line)
    if variant.currency != currency:
        return CheckoutProblem(E.CURRENCY_MISMATCH, f"{product.name} is sold in {variant.currency}.", line)
    if variant.stock < line.quantity:
        return CheckoutProblem(
            E.INSUFFICIENT_STOCK, f"Only {variant.stock} of {product.name} ({variant.sku}) left.", line
        )
    return None


def checkout_summary(checkout: Checkout, lines: list[CheckoutLine] | None = None) -> CheckoutSummary:
    """Lines grouped into vendor packages with totals and what still stops completion."""
    lines = checkout_lines(checkout) if lines is None else lines
    all_methods = list(checkout.shipping_methods.all())
    methods = {m.vendor_id: m for m in all_methods}
    grouped: OrderedDict[int, list[CheckoutLine]] = OrderedDict()
    for line in sorted(lines, key=lambda line: (line.variant.vendor_id, line.pk)):
        grouped.setdefault(line.variant.vendor_id, []).append(line)
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
        problems.append(CheckoutProblem(E.SHIPPING_ADDRESS_REQUIRED, "Add a shipping address."))
    for package in packages:
        if package.method is None:
            problems.append(
                CheckoutProblem(
                    E.SHIPPING_METHOD_REQUIRED, f"Choose how {package.vendor.name} ships.", vendor_id=package.vendor.pk
                )
            )
    return CheckoutSummary(checkout=checkout, lines=lines, packages=packages, problems=problems, methods=all_methods)


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
        raise DomainError(E.ALREADY_COMPLETED, "This checkout was completed; start a new one.")


def _clean_email(email: str | None) -> str:
    email = (email or "").strip().lower()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(E.INVALID, f"{email!r} is not an email address.", field="email") from exc
    return email


def _variants(variant_ids) -> dict[int, ProductVariant]:
    return {
        v.pk: v
        for v in ProductVariant.objects.select_related("product__vendor", "product__category").filter(pk__in=variant_ids)
    }


def _check_buyable(variant: ProductVariant | None, quantity: int, currency: str, field_name: str = "lines") -> None:
    """A line being added or changed must be buyable in that quantity right now."""
    if variant is None:
        raise DomainError(E.NOT_FOUND, "No such product variant.", field=field_name)
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise DomainError(E.INVALID, f"Quantities are 1 to {MAX_LINE_QUANTITY}.", field=field_name)
    probe = CheckoutLine(variant=variant, quantity=quantity, price_amount=variant.price_amount)
    problem = line_problem(probe, variant, currency)
    if problem is not None:
        raise DomainError(problem.code, problem.message, field=field_name)


def _merge(lines: list[LineInput]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise DomainError(E.INVALID, "Quantities are whole numbers.", field="lines")
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
            raise DomainError(E.INVALID, "Add at least one.", field="lines")
        variant = variants.get(variant_id)
        _check_buyable(variant, target, checkout.currency)
        if line is None:
            if len(existing) >= MAX_LINES:
                raise DomainError(E.INVALID, f"A checkout holds at most {MAX_LINES} lines.", field="lines")
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


def _requote_methods(checkout: Checkout, lines: list[CheckoutLine], *, manager=None) -> bool:
    """Re-quote each chosen shipping method; returns whether a chosen price changed."""
    summary = checkout_summary(checkout, lines)
    vendors = {p.vendor.pk for p in summary.packages}
    stale = [m.pk for m in summary.methods if m.vendor_id not in vendors]
    if stale:
        CheckoutShippingMethod.objects.filter(pk__in=stale).delete()
    changed = False
    for package in summary.packages:
        method = package.method
        if method is None:
            continue
        quote = next(
            (q for q in package_quotes(checkout, package, manager=manager)
             if q.carrier == method.carrier_id and q.service_code == method.service_code),
            None,
        )
        if quote is None:
            # No longer offered: completion then asks for a new choice (SHIPPING_METHOD_REQUIRED).
            method.delete()
        elif quote.price.amount != method.price_amount or quote.promised_days != method.promised_days:
            changed = changed or quote.price.amount != method.price_amount
            _method_from_quote(method, quote)
            method.save()
    return changed


def _method_from_quote(method: CheckoutShippingMethod, quote: Quote) -> None:
    method.carrier_id = quote.carrier
    method.carrier_name = quote.carrier_name
    method.service_code = quote.service_code
    method.service_name = quote.service_name
    method.price_amount = quote.price.amount
    method.currency = quote.price.currency.code
    method.promised_days = quote.promised_days


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
        currency=settings.DEFAULT_CURRENCY,
    )
    _set_quantities(checkout, _merge(lines), add=True)
    if shipping_address is not None:
        _apply_address(checkout, shipping_address)
    _refresh(checkout, manager=manager)
    return checkout


def checkout_lines_add(*, checkout: Checkout, lines: list[LineInput], manager=None) -> Checkout:
    """Add quantities (to existing lines of the same variant)."""
    _require_open(checkout)
    _set_quantities(checkout, _merge(lines), add=True)
    _refresh(checkout, manager=manager)
    return checkout


def checkout_lines_update(*, checkout: Checkout, lines: list[LineInput], manager=None) -> Checkout:
    """Set quantities; 0 removes the line."""
    _require_open(checkout)
    wanted: dict[int, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 0:
            raise DomainError(E.INVALID, "Quantities are whole numbers, zero or more.", field="lines")
        wanted[line.variant_id] = line.quantity
    _set_quantities(checkout, wanted, add=False)
    _refresh(checkout, manager=manager)
    return checkout


def checkout_lines_delete(*, checkout: Checkout, line_ids: list[int], manager=None) -> Checkout:
    _require_open(checkout)
    found = set(checkout.lines.filter(pk__in=line_ids).values_list("pk", flat=True))
    missing = [pk for pk in line_ids if pk not in found]
    if missing:
        raise DomainError(E.NOT_FOUND, "No such line in this checkout.", field="linesIds")
    checkout.lines.filter(pk__in=found).delete()
    _refresh(checkout, manager=manager)
    return checkout


def checkout_email_update(*, checkout: Checkout, email: str) -> Checkout:
    _require_open(checkout)
    email = _clean_email(email)
    if not email:
        raise DomainError(E.REQUIRED, "Give an email address.", field="email")
    checkout.email = email
    checkout.save(update_fields=["email", "updated_at"])
    return checkout


def _apply_address(checkout: Checkout, address: AddressInput) -> None:
    region = (address.region or "").strip()
    if not region:
        raise DomainError(E.REQUIRED, "Give the region (province or city code).", field="region")
    if region not in regions_by_code([region]):
        raise DomainError(E.UNKNOWN_REGION, f"No region with code {region!r}.", field="region")
    street = (address.street_address_1 or "").strip()
    if not street:
        raise DomainError(E.REQUIRED, "Give the street address.", field="streetAddress1")
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
        raise DomainError(E.SHIPPING_ADDRESS_REQUIRED, "Add a shipping address first.", field="id")
    summary = checkout_summary(checkout)
    package = next((p for p in summary.packages if p.vendor.pk == vendor_id), None)
    if package is None:
        raise DomainError(E.NOT_FOUND, "This checkout has nothing from that store.", field="vendor")
    quotes = [
        q for q in package_quotes(checkout, package, manager=manager)
        if q.carrier == carrier and (not service_code or q.service_code == service_code)
    ]
    if not quotes:
        raise DomainError(
            E.SHIPPING_METHOD_NOT_AVAILABLE,
            f"{carrier} {service_code or ''} does not ship this package to this address.".replace("  ", " "),
            field="carrier",
        )
    method = package.method or CheckoutShippingMethod(checkout=checkout, vendor=package.vendor)
    _method_from_quote(method, quotes[0])  # cheapest first
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
        raise DomainError(E.EMPTY_CHECKOUT, "The checkout has no lines.", field="lines")
    repriced = [line for line in lines if line.price_amount != line.variant.price_amount]
    for line in repriced:
        line.price_amount = line.variant.price_amount
    if repriced:
        CheckoutLine.objects.bulk_update(repriced, ["price_amount"])
    shipping_changed = _requote_methods(checkout, lines, manager=manager)
    if repriced or shipping_changed:
        raise DomainError(E.PRICE_CHANGED, "Prices changed since you last looked; check the new totals.", field="lines")


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
    *, checkout: Checkout, user, gateway: str, token: str, manager: PluginsManager | None = None
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
    gateway = (gateway or "").strip()
    if not gateway:
        raise DomainError(E.REQUIRED, "Choose a payment gateway.", field="gateway")
    if not (token or "").strip():
        raise DomainError(E.REQUIRED, "A payment token is required.", field="token")
    _precheck(checkout, manager=manager)
    key = _payment_key(checkout)
    try:
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
    # The caller's instance shows the result too.
    checkout.completed_at, checkout.payment = completion.checkout.completed_at, completion.checkout.payment
    return completion


def _complete_locked(checkout: Checkout, *, user, gateway: str, token: str, key: str, manager) -> CheckoutCompletion:
    lines = checkout_lines(checkout)
    if not lines:
        raise DomainError(E.EMPTY_CHECKOUT, "The checkout has no lines.", field="lines")
    buyer = checkout.user or (user if user is not None and user.is_authenticated else None)
    email = checkout.email or (buyer.email if buyer is not None else "")
    if not email:
        raise DomainError(E.EMAIL_REQUIRED, "Give an email address for the order.", field="email")
    if not checkout.has_shipping_address:
        raise DomainError(E.SHIPPING_ADDRESS_REQUIRED, "Add a shipping address.", field="shippingAddress")

    # Fresh, locked rows: what others bought since the shopper looked counts now.
    variants = stock_lock(line.variant_id for line in lines)
    problems = []
    for line in lines:
        line.variant = variants[line.variant_id]
        problem = line_problem(line, line.variant, checkout.currency)
        if problem is not None:
            problems.append(DomainError(problem.code, problem.message, field="lines"))
        elif line.variant.price_amount != line.price_amount:
            problems.append(DomainError(E.PRICE_CHANGED, f"The price of {line.variant.sku} changed.", field="lines"))
    if problems:
        raise DomainErrors(problems)

    summary = checkout_summary(checkout, lines)
    missing = [p for p in summary.packages if p.method is None]
    if missing:
        raise DomainErrors(
            [
                DomainError(E.SHIPPING_METHOD_REQUIRED, f"Choose how {p.vendor.name} ships.", field="shippingMethod")
                for p in missing
            ]
        )

    stock_take({line.variant: line.quantity for line in lines})
    now = timezone.now()
    orders = orders_services.orders_place(
        checkout_token=checkout.pk,
        user=buyer,
        email=email,
        currency=checkout.currency,
        shipping_region=checkout.shipping_region,
        shipping_address=checkout.shipping_address_dict(),
        packages=[
            orders_services.PlacedPackage(
                vendor=package.vendor,
                origin=package.origin,
                lines=[
                    orders_services.PlacedLine(
                        variant=line.variant, quantity=line.quantity, unit_price=line.unit_price(checkout.currency)
                    )
                    for line in package.lines
                ],
                shipping=orders_services.ShippingChoice(
                    carrier=package.method.carrier_id,
                    service_code=package.method.service_code,
                    service_name=package.method.service_name,
                    price=package.method.price,
                    promised_days=package.method.promised_days,
                ),
            )
            for package in summary.packages
        ],
        at=now,
    )
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
        orders_services.orders_mark_paid(orders=orders, payment=payment)
    else:
        # Authorized or pending at the gateway: the orders keep their stock for a while.
        until = now + timedelta(minutes=settings.ORDER_UNPAID_RESERVATION_MINUTES)
        orders_services.orders_reserve(orders=orders, payment=payment, until=until)
    checkout.completed_at = now
    checkout.payment = payment
    checkout.save(update_fields=["completed_at", "payment", "updated_at"])
    return CheckoutCompletion(checkout=checkout, orders=orders, payment=payment)


def checkouts_delete_stale(*, now=None) -> int:
    """Forget checkouts nobody touched for CHECKOUT_TTL_DAYS (they hold no stock, so nothing else to undo)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CHECKOUT_TTL_DAYS)
    stale = Checkout.objects.filter(completed_at__isnull=True, updated_at__lt=cutoff)
    deleted = 0
    while True:
        # In batches, each under row locks that an overlapping run skips (it takes the next batch).
        with transaction.atomic():
            ids = list(stale.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)[:500])
            if not ids:
                return deleted
            _, per_model = stale.filter(pk__in=ids).delete()
        deleted += per_model.get(Checkout._meta.label, 0)
        record_processed("checkout", *ids)
