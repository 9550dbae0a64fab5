"""Checkout across stores for guests and signed-in shoppers.

A guest's handle is the checkout's id (a global ID around a random UUID). The
GraphQL layer parses input, fetches the checkout through the selector, calls the
services and shapes their CheckoutSummary; every rule lives in backend.checkout.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated
from uuid import UUID

from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.checkout import services
from backend.checkout.error_codes import CheckoutErrorCode
from backend.checkout.models import Checkout as CheckoutModel
from backend.checkout.selectors import visible_checkouts
from backend.checkout.sessions import PaymentSession as PaymentSessionModel
from backend.core.exceptions import DomainError
from backend.core.money import quantize
from backend.orders.models import Order as OrderModel
from backend.payments.services import available_payment_gateways
from plugins.manager import get_plugins_manager

from .catalog import ProductVariant, Vendor
from .core import Money, current_user, error_type, run_mutation
from .discounts import (
    AppliedVoucher, CheckoutGroupBuy, Discount, FlashSaleOffer, OpenGroup, applied_vouchers, flash_offer, group_offer,
    package_discounts,
)
from .ids import key_or_not_found
from .orders import Order, PaymentChargeStatus

CheckoutError = error_type("CheckoutError", CheckoutErrorCode)
CheckoutProblemCode = CheckoutError.__annotations__["code"]


def _manager(info: Info):
    return get_plugins_manager(info.context.request)


@strawberry.type(description="The shopper's payment for a checkout (all its stores' orders).")
class Payment:
    id: relay.GlobalID
    gateway: str
    status: PaymentChargeStatus
    total: Money
    captured: Money
    refunded: Money

    @classmethod
    def from_model(cls, payment) -> Payment | None:
        if payment is None:
            return None
        return cls(
            id=relay.GlobalID("Payment", str(payment.pk)),
            gateway=payment.gateway,
            status=PaymentChargeStatus(payment.status),
            total=Money.from_value(payment.total),
            captured=Money.from_value(payment.captured),
            refunded=Money.from_value(payment.refunded),
        )


@strawberry.type
class PaymentGateway:
    id: str
    name: str


@strawberry.type
class CheckoutAddress:
    first_name: str
    last_name: str
    phone: str
    region: str = strawberry.field(description="GB/T 2260 code of the province or city.")
    street_address_1: str
    street_address_2: str
    city: str
    postal_code: str


@strawberry.type
class CheckoutLine:
    id: relay.GlobalID
    variant: ProductVariant
    quantity: int
    unit_price: Money = strawberry.field(description="The regular price of one unit.")
    total_price: Money = strawberry.field(description="Regular price x quantity (discounts: the package's).")
    flash_sale: FlashSaleOffer | None = strawberry.field(
        default=None, description="The flash sale pricing this line now, if any (its price, badge, countdown)."
    )
    promotional_units: int = strawberry.field(default=0, description="Units of the line at the flash sale's price.")
    campaign: Annotated["CampaignOffer", strawberry.lazy("storefront_api.campaigns")] | None = strawberry.field(
        default=None, description="The platform campaign pricing this line now, if any (its price, badge, countdown)."
    )
    campaign_units: int = strawberry.field(default=0, description="Units of the line at the campaign price.")


@strawberry.type(description="A carrier service's offer for one store's package.")
class ShippingQuote:
    carrier: str = strawberry.field(description="The carrier plugin's identifier.")
    carrier_name: str
    service_code: str
    service_name: str
    amount: Money
    promised_days: int
    time_guaranteed: bool


@strawberry.type
class CheckoutShippingMethod:
    carrier: str
    carrier_name: str
    service_code: str
    service_name: str
    amount: Money
    promised_days: int | None


@strawberry.type(description="Something that stops the checkout from completing now.")
class CheckoutProblem:
    code: CheckoutProblemCode
    message: str
    line: relay.GlobalID | None = None
    vendor: relay.GlobalID | None = None


def _line_id(pk: int) -> relay.GlobalID:
    return relay.GlobalID("CheckoutLine", str(pk))


def _line(line, currency: str, pricing=None) -> CheckoutLine:
    unit = line.unit_price(currency)
    sale, units = None, 0
    if pricing is not None and line.pk in pricing.flash_units:
        sale_id, units = pricing.flash_units[line.pk]
        sale = flash_offer(pricing.flash_sales[sale_id], unit.amount, currency)
    offer, campaign_units = None, 0
    if pricing is not None and line.pk in pricing.campaign_units:
        from .campaigns import campaign_offer

        enrolment_id, campaign_units = pricing.campaign_units[line.pk]
        offer = campaign_offer(pricing.campaign_enrolments[enrolment_id], unit.amount, currency)
    return CheckoutLine(
        id=_line_id(line.pk),
        variant=line.variant,
        quantity=line.quantity,
        unit_price=Money.from_value(unit),
        total_price=Money.from_value(unit * line.quantity),
        flash_sale=sale,
        promotional_units=units,
        campaign=offer,
        campaign_units=campaign_units,
    )


@strawberry.type(description="One store's part of the checkout: shipped together, one order.")
class CheckoutPackage:
    package: strawberry.Private[services.CheckoutPackage]
    checkout: strawberry.Private[CheckoutModel]
    voucher_models: strawberry.Private[dict | None] = None
    pricing: strawberry.Private[object] = None

    @strawberry.field
    def vendor(self) -> Vendor:
        return self.package.vendor

    @strawberry.field
    def lines(self) -> list[CheckoutLine]:
        return [_line(line, self.checkout.currency, self.pricing) for line in self.package.lines]

    @strawberry.field(description="Offers of the active carriers, cheapest first; empty without an address.")
    def shipping_quotes(self, info: Info) -> list[ShippingQuote]:
        return [
            ShippingQuote(
                carrier=q.carrier, carrier_name=q.carrier_name, service_code=q.service_code,
                service_name=q.service_name, amount=Money.from_value(q.price), promised_days=q.promised_days,
                time_guaranteed=q.time_guaranteed,
            )
            for q in services.package_quotes(self.checkout, self.package, manager=_manager(info))
        ]

    @strawberry.field(description="The chosen shipping, or null until chosen.")
    def shipping_method(self) -> CheckoutShippingMethod | None:
        method = self.package.method
        if method is None:
            return None
        return CheckoutShippingMethod(
            carrier=method.carrier_id, carrier_name=method.carrier_name, service_code=method.service_code,
            service_name=method.service_name, amount=Money.from_value(method.price),
            promised_days=method.promised_days,
        )

    @strawberry.field
    def subtotal(self) -> Money:
        return Money.from_value(self.package.subtotal)

    @strawberry.field
    def shipping_price(self) -> Money | None:
        return Money.from_value(self.package.shipping_price)

    @strawberry.field(description="The package's discounts, each with its funder (platform or store) and amount.")
    def discounts(self) -> list[Discount]:
        return package_discounts(self.package.pricing, self.voucher_models or {})

    @strawberry.field(description="Goods and shipping discounts of the package together.")
    def discount(self) -> Money:
        return Money.from_value(self.package.discount)

    @strawberry.field(description="Goods and shipping less the discounts: this store's order total.")
    def total(self) -> Money:
        return Money.from_value(self.package.total)


@strawberry.type(name="CheckoutPoints", description="The member's points on a checkout (checkoutPointsUse).")
class CheckoutPoints:
    used: int = strawberry.field(description="Points the checkout uses now (deducted when the order is placed).")
    allowed: int = strawberry.field(description="The most it may use: the balance, capped at a share of the goods.")
    balance: int
    requested: int | None = strawberry.field(description="What the shopper asked for; null: as many as allowed.")
    amount: Money = strawberry.field(description="What the points used take off.")


@strawberry.type(name="Checkout", description="A cart across stores, paid once.")
class Checkout:
    model: strawberry.Private[CheckoutModel]

    @classmethod
    def of(cls, checkout: CheckoutModel) -> Checkout:
        return cls(model=checkout)

    @property
    def summary(self) -> services.CheckoutSummary:
        # Built on first use: a payload that selects no lines or totals costs no queries for them.
        if "_summary" not in self.__dict__:
            self.__dict__["_summary"] = services.checkout_summary(self.model)
        return self.__dict__["_summary"]

    @strawberry.field(description="The checkout's handle; a guest keeps it to come back.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Checkout", str(self.model.pk))

    @strawberry.field
    def email(self) -> str:
        return self.model.email

    @strawberry.field
    def currency(self) -> str:
        return self.model.currency

    @strawberry.field
    def completed_at(self) -> datetime | None:
        return self.model.completed_at

    @strawberry.field
    def shipping_address(self) -> CheckoutAddress | None:
        if not self.model.has_shipping_address:
            return None
        return CheckoutAddress(**self.model.shipping_address_dict())

    @strawberry.field
    def lines(self) -> list[CheckoutLine]:
        return [_line(line, self.model.currency, self.summary.pricing) for line in self.summary.lines]

    @strawberry.field(description="The lines grouped per store, each with its shipping quotes, discounts and totals.")
    def packages(self) -> list[CheckoutPackage]:
        vouchers = self.summary.pricing.vouchers if self.summary.pricing is not None else {}
        return [
            CheckoutPackage(package=p, checkout=self.model, voucher_models=vouchers, pricing=self.summary.pricing)
            for p in self.summary.packages
        ]

    @strawberry.field(description="Every discount of every package together.")
    def discount(self) -> Money:
        return Money.from_value(self.summary.discount)

    @strawberry.field(description="The vouchers applied (checkoutVoucherApply) and what each takes off now.")
    def vouchers(self) -> list[AppliedVoucher]:
        return applied_vouchers(self.summary.pricing)

    @strawberry.field(description="The signed-in shopper's points on this checkout (null for a guest checkout).")
    def points(self) -> CheckoutPoints | None:
        from backend.members.selectors import points_balance_of

        if not self.model.user_id:
            return None
        pricing = self.summary.pricing
        balance = points_balance_of(self.model.user_id)
        currency = self.model.currency
        taken = sum((a.amount.amount for a in pricing.adjustments if a.source == "points"), Decimal(0)) if pricing else 0
        amount = Money(amount=quantize(Decimal(taken), currency), currency=currency)
        return CheckoutPoints(
            used=pricing.points_used if pricing else 0, allowed=pricing.points_allowed if pricing else 0,
            balance=balance or 0, requested=pricing.points_requested if pricing else 0, amount=amount,
        )

    @strawberry.field(description="The group deal this checkout buys (checkoutGroupBuySet), if any: the group joined or opened.")
    def group_buy(self) -> CheckoutGroupBuy | None:
        from backend.promotions.group_buying import problem_message

        priced = self.summary.pricing.group_buy if self.summary.pricing is not None else None
        if priced is None:
            return None
        deal, group = priced.deal, priced.group
        if group is not None:
            group.member_count = priced.members or 0
        return CheckoutGroupBuy(
            deal=group_offer(deal, deal.variant.price_amount, deal.currency),
            group=OpenGroup(model=group, size=deal.group_size) if group is not None else None,
            units=priced.units,
            problem=problem_message(priced.problem) if priced.problem else None,
        )

    @strawberry.field
    def subtotal(self) -> Money:
        return Money.from_value(self.summary.subtotal)

    @strawberry.field(description="Shipping of the packages whose shipping is chosen.")
    def shipping_price(self) -> Money:
        return Money.from_value(self.summary.shipping_price)

    @strawberry.field(description="What the shopper pays: goods and shipping less the discounts.")
    def total_price(self) -> Money:
        return Money.from_value(self.summary.total)

    @strawberry.field(description="What still stops completion: unavailable lines, stock, address, shipping.")
    def problems(self) -> list[CheckoutProblem]:
        return [
            CheckoutProblem(
                code=CheckoutProblemCode[p.code.name],
                message=p.message,
                line=_line_id(p.line.pk) if p.line is not None and p.line.pk else None,
                vendor=relay.GlobalID("Vendor", str(p.vendor_id)) if p.vendor_id else None,
            )
            for p in self.summary.problems
        ]

    @strawberry.field
    def available_payment_gateways(self, info: Info) -> list[PaymentGateway]:
        """The gateways that take this checkout's total in its currency (each plugin's rules)."""
        total = self.summary.total if self.summary.lines else None
        return [
            PaymentGateway(id=g.id, name=g.name)
            for g in available_payment_gateways(manager=_manager(info), amount=total)
        ]

    @strawberry.field(description="The orders placed from this checkout (one per store), once completed.")
    def orders(self) -> list[Order]:
        if self.model.completed_at is None:
            return []
        return list(OrderModel.objects.filter(checkout_token=self.model.pk).order_by("pk"))

    @strawberry.field
    def payment(self) -> Payment | None:
        return Payment.from_model(self.model.payment)


# --- Inputs ------------------------------------------------------------------------


@strawberry.input
class CheckoutLineInput:
    variant_id: relay.GlobalID
    quantity: int


@strawberry.input
class CheckoutLineUpdateInput:
    variant_id: relay.GlobalID
    quantity: int = strawberry.field(description="The new quantity; 0 removes the line.")


@strawberry.input
class CheckoutAddressInput:
    region: str = strawberry.field(description="GB/T 2260 code of the province or city, e.g. 310000 Shanghai.")
    street_address_1: str
    street_address_2: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    city: str | None = None
    postal_code: str | None = None


@strawberry.input
class CheckoutCreateInput:
    lines: list[CheckoutLineInput]
    email: str | None = strawberry.field(default=None, description="Required for guests; default: the shopper's.")
    shipping_address: CheckoutAddressInput | None = None


@strawberry.input
class PaymentInput:
    gateway: str = strawberry.field(description="A gateway from availablePaymentGateways, e.g. dummy.")
    token: str = strawberry.field(description="From the gateway's client; the dummy gateway: success, decline, timeout.")


@strawberry.enum(name="PaymentSessionState")
class PaymentSessionState(Enum):
    CREATED = "created"
    PENDING = "pending"
    AUTHORIZED = "authorized"
    SUCCEEDED = "succeeded"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@strawberry.type(description="A payment the shopper confirms with the gateway, then completes with checkoutComplete.")
class PaymentSession:
    id: str = strawberry.field(description="The session's reference: pass it to checkoutComplete(paymentSession:).")
    gateway: str
    state: PaymentSessionState
    client_data: JSON = strawberry.field(
        description="What the gateway's client needs: Stripe {client_secret, payment_intent}; dummy {session, confirmed}."
    )
    amount: Money
    expires_at: datetime = strawberry.field(description="Until then the checkout's stock is held for this payment.")

    @classmethod
    def from_model(cls, session: PaymentSessionModel) -> PaymentSession:
        return cls(
            id=session.reference, gateway=session.gateway, state=PaymentSessionState(session.state),
            client_data=session.client_data or {}, amount=Money.from_value(session.total), expires_at=session.expires_at,
        )


def _pk(global_id: relay.GlobalID, type_name: str, field: str) -> str:
    if global_id.type_name != type_name:
        raise DomainError(CheckoutErrorCode.NOT_FOUND, f"Not a {type_name} ID.", field=field)
    return str(global_id.node_id)


def _lines(lines) -> list[services.LineInput]:
    return [
        services.LineInput(
            variant_id=key_or_not_found(line.variant_id, "ProductVariant", field="variantId"), quantity=line.quantity
        )
        for line in lines
    ]


def _address(address: CheckoutAddressInput) -> services.AddressInput:
    return services.AddressInput(
        region=address.region,
        street_address_1=address.street_address_1,
        street_address_2=address.street_address_2 or "",
        first_name=address.first_name or "",
        last_name=address.last_name or "",
        phone=address.phone or "",
        city=address.city or "",
        postal_code=address.postal_code or "",
    )


def fetch_checkout(info: Info, global_id: relay.GlobalID, *, for_update: bool = True) -> CheckoutModel:
    """The checkout if the caller may reach it (guest checkouts: by id; a shopper's: only them)."""
    try:
        pk = UUID(_pk(global_id, "Checkout", "id"))
    except ValueError:
        raise DomainError(CheckoutErrorCode.NOT_FOUND, "No such checkout.", field="id") from None
    queryset = visible_checkouts(current_user(info))
    if for_update:
        queryset = queryset.select_for_update()
    checkout = queryset.filter(pk=pk).first()
    if checkout is None:
        raise DomainError(CheckoutErrorCode.NOT_FOUND, "No such checkout.", field="id")
    return checkout


# --- Payloads ------------------------------------------------------------------------


@strawberry.type
class CheckoutPayload:
    checkout: Checkout | None = None
    errors: list[CheckoutError]


@strawberry.type
class CheckoutPaymentCreatePayload:
    payment_session: PaymentSession | None = None
    checkout: Checkout | None = None
    errors: list[CheckoutError]


@strawberry.type
class CheckoutCompletePayload:
    orders: list[Order] = strawberry.field(default_factory=list, description="One per store.")
    payment: Payment | None = None
    checkout: Checkout | None = None
    errors: list[CheckoutError]


def _changed(info: Info, id: relay.GlobalID, change) -> CheckoutPayload:
    def action():
        checkout = fetch_checkout(info, id)
        change(checkout)
        return {"checkout": Checkout.of(checkout)}

    return run_mutation(CheckoutPayload, CheckoutError, action)


@strawberry.type
class CheckoutQuery:
    @strawberry.field(description="A checkout by its id (a guest's handle, or one of the shopper's).")
    def checkout(self, info: Info, id: relay.GlobalID) -> Checkout | None:
        try:
            return Checkout.of(fetch_checkout(info, id, for_update=False))
        except DomainError:
            return None


@strawberry.type
class CheckoutMutation:
    @strawberry.mutation(description="Start a checkout (guests and signed-in shoppers).")
    def checkout_create(self, info: Info, input: CheckoutCreateInput) -> CheckoutPayload:
        def action():
            checkout = services.checkout_create(
                user=current_user(info),
                email=input.email,
                lines=_lines(input.lines),
                shipping_address=_address(input.shipping_address) if input.shipping_address else None,
                manager=_manager(info),
            )
            return {"checkout": Checkout.of(checkout)}

        return run_mutation(CheckoutPayload, CheckoutError, action)

    @strawberry.mutation(description="Add quantities of variants (added to lines of the same variant).")
    def checkout_lines_add(self, info: Info, id: relay.GlobalID, lines: list[CheckoutLineInput]) -> CheckoutPayload:
        return _changed(
            info, id, lambda c: services.checkout_lines_add(checkout=c, lines=_lines(lines), manager=_manager(info))
        )

    @strawberry.mutation(description="Set quantities; 0 removes the line.")
    def checkout_lines_update(
        self, info: Info, id: relay.GlobalID, lines: list[CheckoutLineUpdateInput]
    ) -> CheckoutPayload:
        return _changed(
            info, id, lambda c: services.checkout_lines_update(checkout=c, lines=_lines(lines), manager=_manager(info))
        )

    @strawberry.mutation(description="Remove lines.")
    def checkout_lines_delete(self, info: Info, id: relay.GlobalID, lines_ids: list[relay.GlobalID]) -> CheckoutPayload:
        return _changed(
            info,
            id,
            lambda c: services.checkout_lines_delete(
                checkout=c,
                line_ids=[key_or_not_found(g, "CheckoutLine", field="linesIds") for g in lines_ids],
                manager=_manager(info),
            ),
        )

    @strawberry.mutation
    def checkout_email_update(self, info: Info, id: relay.GlobalID, email: str) -> CheckoutPayload:
        return _changed(info, id, lambda c: services.checkout_email_update(checkout=c, email=email))

    @strawberry.mutation(description="Set the shipping address; chosen shipping is re-quoted to it.")
    def checkout_shipping_address_update(
        self, info: Info, id: relay.GlobalID, address: CheckoutAddressInput
    ) -> CheckoutPayload:
        return _changed(
            info,
            id,
            lambda c: services.checkout_shipping_address_update(
                checkout=c, address=_address(address), manager=_manager(info)
            ),
        )

    @strawberry.mutation(description="Choose a carrier (and service; default its cheapest) for one store's package.")
    def checkout_shipping_method_update(
        self, info: Info, id: relay.GlobalID, vendor: relay.GlobalID, carrier: str, service_code: str | None = None
    ) -> CheckoutPayload:
        return _changed(
            info,
            id,
            lambda c: services.checkout_shipping_method_update(
                checkout=c, vendor_id=key_or_not_found(vendor, "Vendor", field="vendor"), carrier=carrier,
                service_code=service_code, manager=_manager(info),
            ),
        )

    @strawberry.mutation(
        description=(
            "Start paying through a gateway: the checkout's stock is held for the session while the shopper "
            "confirms the payment on the client with clientData (Stripe: confirm the PaymentIntent with its "
            "client_secret). Asking again while nothing changed returns the same session."
        )
    )
    def checkout_payment_create(
        self, info: Info, id: relay.GlobalID, gateway: str, return_url: str | None = None
    ) -> CheckoutPaymentCreatePayload:
        def action():
            checkout = fetch_checkout(info, id, for_update=False)
            request = info.context.request
            session = services.checkout_payment_create(
                checkout=checkout, user=current_user(info), gateway=gateway, return_url=return_url or "",
                client_ip=(request.META.get("REMOTE_ADDR", "") if request is not None else ""),
                manager=_manager(info),
            )
            return {"payment_session": PaymentSession.from_model(session), "checkout": Checkout.of(checkout)}

        # Not atomic here: the gateway is asked after the stock is reserved and committed.
        return run_mutation(CheckoutPaymentCreatePayload, CheckoutError, action, atomic=False)

    @strawberry.mutation(
        description=(
            "Place one order per store and take one payment into escrow: with paymentSession, the session "
            "confirmed with the gateway (verified with it here); with payment, a token (dummy gateway only). "
            "Completing again returns the same orders and payment; a declined payment leaves no order."
        )
    )
    def checkout_complete(
        self, info: Info, id: relay.GlobalID, payment: PaymentInput | None = None, payment_session: str | None = None
    ) -> CheckoutCompletePayload:
        def action():
            checkout = fetch_checkout(info, id, for_update=False)
            if payment is None and not payment_session:
                raise DomainError(
                    CheckoutErrorCode.REQUIRED, "Give a paymentSession (or a payment token).", field="paymentSession"
                )
            result = services.checkout_complete(
                checkout=checkout,
                user=current_user(info),
                gateway=payment.gateway if payment is not None else "",
                token=payment.token if payment is not None else "",
                payment_session=payment_session or "",
                manager=_manager(info),
            )
            return {
                "orders": result.orders,
                "payment": Payment.from_model(result.payment),
                "checkout": Checkout.of(result.checkout),
            }

        # Not atomic here: the service runs its own transactions and asks the gateway outside them.
        return run_mutation(CheckoutCompletePayload, CheckoutError, action, atomic=False)
