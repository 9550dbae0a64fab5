import graphene
from django.apps import apps
from django.conf import settings
from moneyed import Money as MoneyValue

from backend.core.exceptions import DomainError
from backend.core.money import amount_from_input
from backend.core.permissions import PlatformPermission
from backend.finance import deposits, entry_fees, fees, payouts
from backend.finance.error_codes import FinanceErrorCode

from ..catalog.types import CategoryType
from ..core.lookups import object_from_id
from ..core.mutations import BaseMutation
from ..core.nodes import decode_id, get_node
from ..payments.types import PaymentType
from .types import CommissionOverrideType, FeePlanType, FinanceError, LedgerTransactionType, PayoutType


def _vendor_type():
    from ..vendor.types import VendorType

    return VendorType


def vendor_from_id(info, global_id):
    return get_node(info, global_id, _vendor_type(), field="vendor")


def money_from(value, field: str = "amount") -> MoneyValue:
    currency = settings.DEFAULT_CURRENCY
    return MoneyValue(
        amount_from_input(value, error_code=FinanceErrorCode.INVALID, field=field, currency=currency), currency
    )


def dispute_from_id(global_id):
    """A dispute by global ID, resolved lazily: the disputes app may not be installed."""
    if not global_id:
        return None
    decode_id(global_id, "Dispute", field="dispute")  # a malformed ID is NOT_FOUND either way
    if not apps.is_installed("backend.disputes"):
        raise DomainError(FinanceErrorCode.NOT_FOUND, "Disputes are not available.", field="dispute")
    Dispute = apps.get_model("disputes", "Dispute")
    return object_from_id(Dispute.objects.select_related("order"), global_id, "Dispute", field="dispute")


class FeeRebateRuleInput(graphene.InputObjectType):
    threshold = graphene.Decimal(required=True, description="Sales in the fee year, in the platform currency.")
    fraction = graphene.Decimal(required=True, description="Part of the annual fee paid back, 0 to 1.")


class CategoryFeePlanInput(graphene.InputObjectType):
    annual_fee = graphene.Decimal()
    commission_rate = graphene.Decimal(description="0.05 = 5%.")
    deposit_amount = graphene.Decimal()
    fee_rebate_rules = graphene.List(graphene.NonNull(FeeRebateRuleInput))
    effective_from = graphene.DateTime(description="Now when not given; never in the past.")


class CategoryFeePlanUpdate(BaseMutation):
    fee_plan = graphene.Field(FeePlanType)

    class Arguments:
        category = graphene.ID(required=True)
        input = CategoryFeePlanInput(required=True)

    class Meta:
        description = (
            "A new fee plan for the category from effectiveFrom on (terms not given are kept). "
            "Needs MANAGE_FINANCE."
        )
        error_type_class = FinanceError
        permission = PlatformPermission.MANAGE_FINANCE

    @classmethod
    def perform_mutation(cls, _root, info, category, input):
        rules = input.get("fee_rebate_rules")
        plan = fees.category_fee_plan_update(
            actor=info.context.user,
            category=get_node(info, category, CategoryType, field="category"),
            annual_fee=input.get("annual_fee"),
            commission_rate=input.get("commission_rate"),
            deposit_amount=input.get("deposit_amount"),
            rebate_rules=None if rules is None else [{"threshold": r.threshold, "fraction": r.fraction} for r in rules],
            effective_from=input.get("effective_from"),
        )
        return cls(fee_plan=plan, errors=[])


class VendorCommissionOverride(BaseMutation):
    commission_override = graphene.Field(CommissionOverrideType)

    class Arguments:
        vendor = graphene.ID(required=True)
        category = graphene.ID(description="Null: every category of the vendor.")
        rate = graphene.Decimal(description="0.03 = 3%; null ends the override.")
        effective_from = graphene.DateTime(description="Now when not given; never in the past.")

    class Meta:
        description = "Set (or end) a vendor's own commission rate in a category. Needs MANAGE_FINANCE."
        error_type_class = FinanceError
        permission = PlatformPermission.MANAGE_FINANCE

    @classmethod
    def perform_mutation(cls, _root, info, vendor, category=None, rate=None, effective_from=None):
        override = fees.vendor_commission_override(
            actor=info.context.user,
            vendor=vendor_from_id(info, vendor),
            category=get_node(info, category, CategoryType, field="category") if category else None,
            rate=rate,
            effective_from=effective_from,
        )
        return cls(commission_override=override, errors=[])


class VendorPaymentMutation(BaseMutation):
    """Pays through the gateway outside a transaction, so a declined attempt is kept with its error."""

    payment = graphene.Field(PaymentType, description="Null when nothing was owed and nothing was ever paid.")
    vendor = graphene.Field(_vendor_type)

    class Meta:
        abstract = True


class VendorEntryFeePay(VendorPaymentMutation):
    class Arguments:
        vendor = graphene.ID(required=True)
        gateway = graphene.String(description="Payment gateway id; the platform's default (dummy) when not given.")
        token = graphene.String(description="The gateway's payment token (dummy: success, decline, timeout).")
        idempotency_key = graphene.String(description="Repeat it to retry safely; derived from the request if not given.")

    class Meta:
        description = (
            "Pay the entry fee owed for the current fee year: the highest annual fee among the vendor's categories. "
            "Paid up (fee and deposit), an onboarding or restricted store becomes active."
        )
        error_type_class = FinanceError
        atomic = False

    @classmethod
    def perform_mutation(cls, _root, info, vendor, gateway=None, token=None, idempotency_key=None):
        vendor = vendor_from_id(info, vendor)
        payment = entry_fees.vendor_entry_fee_pay(
            actor=info.context.user, vendor=vendor, gateway=gateway, token=token, idempotency_key=idempotency_key
        )
        vendor.refresh_from_db()
        return cls(payment=payment, vendor=vendor, errors=[])


class VendorDepositTopUp(VendorPaymentMutation):
    class Arguments:
        vendor = graphene.ID(required=True)
        amount = graphene.Decimal(description="What the deposit is short of its requirement when not given.")
        gateway = graphene.String()
        token = graphene.String()
        idempotency_key = graphene.String()

    class Meta:
        description = "Pay into the vendor's security deposit through the gateway; paid up, the store becomes active."
        error_type_class = FinanceError
        atomic = False

    @classmethod
    def perform_mutation(cls, _root, info, vendor, amount=None, gateway=None, token=None, idempotency_key=None):
        vendor = vendor_from_id(info, vendor)
        payment = entry_fees.vendor_deposit_top_up(
            actor=info.context.user,
            vendor=vendor,
            amount=None if amount is None else money_from(amount),
            gateway=gateway,
            token=token,
            idempotency_key=idempotency_key,
        )
        vendor.refresh_from_db()
        return cls(payment=payment, vendor=vendor, errors=[])


class VendorDepositDeduct(BaseMutation):
    vendor = graphene.Field(_vendor_type)
    transaction = graphene.Field(LedgerTransactionType, description="The ledger transaction of the deduction.")

    class Arguments:
        vendor = graphene.ID(required=True)
        amount = graphene.Decimal(required=True)
        reason = graphene.String(required=True)
        dispute = graphene.ID(description="The dispute it compensates: the amount goes to that shopper's refund.")
        idempotency_key = graphene.String()

    class Meta:
        description = (
            "Deduct from a vendor's deposit (MANAGE_FINANCE; ARBITRATE_DISPUTES with a dispute). "
            "A deposit left short restricts the store until it tops up."
        )
        error_type_class = FinanceError

    @classmethod
    def perform_mutation(cls, _root, info, vendor, amount, reason, dispute=None, idempotency_key=None):
        # Fetched by id: arbitrators may deduct for a dispute without seeing vendors otherwise.
        # Who may deduct is checked before any lookup, so a refusal reveals no vendor or dispute.
        from backend.vendors.models import Vendor

        deposits.require_deposit_deductor(info.context.user, for_dispute=bool(dispute))
        vendor = object_from_id(Vendor.objects.all(), vendor, "Vendor", field="vendor")
        posted = deposits.vendor_deposit_deduct(
            actor=info.context.user,
            vendor=vendor,
            amount=money_from(amount),
            reason=reason,
            dispute=dispute_from_id(dispute),
            idempotency_key=idempotency_key,
        )
        vendor.refresh_from_db()
        return cls(vendor=vendor, transaction=posted, errors=[])


class PayoutCreate(BaseMutation):
    payout = graphene.Field(PayoutType)

    class Arguments:
        vendor = graphene.ID(required=True)
        amount = graphene.Decimal(description="All that is available when not given.")
        idempotency_key = graphene.String()

    class Meta:
        description = (
            "Pay the vendor's available balance out through the gateway (the store's owner or operator, or "
            "MANAGE_FINANCE). At least the platform minimum; a failed transfer returns the money to available."
        )
        error_type_class = FinanceError
        # payout_create commits the payout before asking the gateway: no transaction around it.
        atomic = False

    @classmethod
    def perform_mutation(cls, _root, info, vendor, amount=None, idempotency_key=None):
        payout = payouts.payout_create(
            actor=info.context.user,
            vendor=vendor_from_id(info, vendor),
            amount=None if amount is None else money_from(amount),
            idempotency_key=idempotency_key,
        )
        return cls(payout=payout, errors=[])


class FinanceMutations(graphene.ObjectType):
    category_fee_plan_update = CategoryFeePlanUpdate.Field()
    vendor_commission_override = VendorCommissionOverride.Field()
    vendor_entry_fee_pay = VendorEntryFeePay.Field()
    vendor_deposit_top_up = VendorDepositTopUp.Field()
    vendor_deposit_deduct = VendorDepositDeduct.Field()
    payout_create = PayoutCreate.Field()
