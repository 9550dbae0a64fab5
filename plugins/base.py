"""The plugin base class: named hooks that take the previous plugin's value.

A hook returns NotImplemented when the plugin has nothing to say, and the
manager passes the previous value on. Each domain adds its hooks here with a
docstring that is the contract; contracts that carry data are dataclasses in
the domain (for example plugins/logistics/interface.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError


class ConfigType:
    STRING = "string"
    SECRET = "secret"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    JSON = "json"


@dataclass(frozen=True)
class ConfigField:
    type: str = ConfigType.STRING
    default: Any = None
    help_text: str = ""
    choices: tuple = field(default=())

    def clean(self, name: str, value: Any) -> Any:
        """Coerce a value given by staff to this field's type, or raise INVALID."""
        if value is None:
            return None
        try:
            if self.type == ConfigType.BOOLEAN:
                if isinstance(value, bool):
                    return value
                if str(value).lower() in ("true", "1", "yes", "on"):
                    return True
                if str(value).lower() in ("false", "0", "no", "off"):
                    return False
                raise ValueError(value)
            if self.type == ConfigType.INTEGER:
                if isinstance(value, bool):
                    raise ValueError(value)
                return int(value)
            if self.type == ConfigType.DECIMAL:
                if isinstance(value, float):
                    raise ValueError(value)
                return str(Decimal(str(value)))
            if self.type == ConfigType.JSON:
                if isinstance(value, str):
                    import json

                    return json.loads(value)
                return value
            value = str(value)
            if self.choices and value not in self.choices:
                raise ValueError(value)
            return value
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise DomainError(
                CoreErrorCode.INVALID, f"{name}: {value!r} is not a valid {self.type}.", field="configuration"
            ) from exc


class BasePlugin:
    PLUGIN_ID: ClassVar[str] = ""
    PLUGIN_NAME: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    DEFAULT_ACTIVE: ClassVar[bool] = False
    CONFIG_STRUCTURE: ClassVar[dict[str, ConfigField]] = {}

    def __init__(self, *, configuration: dict[str, Any] | None = None, active: bool | None = None):
        self.active = self.DEFAULT_ACTIVE if active is None else active
        self.configuration = self.default_configuration()
        self.configuration.update(configuration or {})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.PLUGIN_ID} active={self.active}>"

    @classmethod
    def default_configuration(cls) -> dict[str, Any]:
        return {name: spec.default for name, spec in cls.CONFIG_STRUCTURE.items()}

    @classmethod
    def clean_configuration(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Check staff's values against CONFIG_STRUCTURE; subclasses may check more."""
        unknown = sorted(set(values) - set(cls.CONFIG_STRUCTURE))
        if unknown:
            raise DomainError(
                CoreErrorCode.INVALID,
                f"{cls.PLUGIN_ID} has no setting {', '.join(unknown)}.",
                field="configuration",
            )
        return {name: cls.CONFIG_STRUCTURE[name].clean(name, value) for name, value in values.items()}

    def get(self, name: str, default: Any = None) -> Any:
        value = self.configuration.get(name)
        return default if value is None else value

    # --- Hooks. Each takes previous_value and returns a new value or NotImplemented. ---

    # --- Payments: gateway hooks. Contract types are in plugins/payments/interface.py;
    # core code calls them through backend/payments/services.py on the chosen gateway only. ---

    def process_payment(self, payment_data, *, previous_value):
        """Charge a PaymentData (authorize; capture too when payment_data.capture); return a GatewayResponse.

        A decline is GatewayResponse(success=False, error_code=DECLINED); no answer in
        time is error_code=TIMEOUT (or raise GatewayTimeout). Pass the idempotency key on.
        """
        return NotImplemented

    def capture_payment(self, capture_data, *, previous_value):
        """Capture an authorized payment (CaptureData); return a GatewayResponse."""
        return NotImplemented

    def void_payment(self, capture_data, *, previous_value):
        """Cancel an authorization that was not captured (CaptureData); return a GatewayResponse."""
        return NotImplemented

    def refund_payment(self, refund_data, *, previous_value):
        """Refund (part of) a captured payment (RefundData); return a GatewayResponse."""
        return NotImplemented

    def create_transfer(self, transfer_data, *, previous_value):
        """Pay a vendor out (TransferData); return a GatewayResponse with status PAID or PENDING."""
        return NotImplemented

    def parse_webhook(self, request, *, previous_value):
        """Verify a webhook request from the provider and return its GatewayEvent list.

        Raise WebhookVerificationError when the signature or the body is not valid.
        """
        return NotImplemented

    # --- Payment sessions: the shopper confirms on the client; the marketplace verifies server-side. ---

    def payment_available(self, currency: str, amount, *, previous_value):
        """Whether this gateway can take `amount` (Decimal) in `currency`; return a bool."""
        return NotImplemented

    def create_payment_session(self, session_data, *, previous_value):
        """Create the provider's payment for a SessionData; return a GatewayResponse.

        psp_reference is the provider object the later calls and webhooks name (a PaymentIntent
        id, or the out_trade_no for Alipay and WeChat Pay); client_data is what the client needs;
        status is ACTION_REQUIRED or PENDING. Never called while the marketplace holds row locks.
        """
        return NotImplemented

    def query_payment_session(self, session_query, *, previous_value):
        """Ask the provider what happened to a session (SessionQuery); return a GatewayResponse.

        status AUTHORIZED or CAPTURED (with amount and currency as paid), PENDING /
        ACTION_REQUIRED (not paid yet), FAILED or CANCELLED.
        """
        return NotImplemented

    def close_payment_session(self, session_query, *, previous_value):
        """Close an unpaid session (or void its authorization) at the provider; return a GatewayResponse."""
        return NotImplemented

    def webhook_response(self, result, *, previous_value):
        """The HTTP answer the provider expects after its webhook was handled: (status, content_type, body).

        Alipay wants the plain text "success", WeChat Pay v3 a JSON body; by default 200 with JSON.
        `result` is None when the webhook was refused.
        """
        return NotImplemented

    def gateway_records(self, start, end, *, previous_value):
        """The provider's charges, refunds and transfers in [start, end); return a list of GatewayRecord."""
        return NotImplemented

    # --- Logistics: carrier hooks. Contract types are in plugins/logistics/interface.py;
    # core code calls them through backend/logistics/services.py, never directly. ---

    def shipping_services(self, *, previous_value):
        """Append this carrier's CarrierInfo (its services) to previous_value (a list)."""
        return NotImplemented

    def quote(self, package, origin: str, destination: str, *, previous_value):
        """Append this carrier's Quote list for a Package between two region codes.

        Quote only services that can carry the whole package; raise nothing for
        "not served", just add no quote. previous_value is the other carriers' quotes.
        """
        return NotImplemented

    def create_shipment(self, request, quote, *, previous_value):
        """Book a ShipmentRequest for the given Quote; return a ShipmentResult.

        Raise DomainError(LogisticsErrorCode...) when the carrier refuses or fails;
        the platform then records nothing.
        """
        return NotImplemented

    def parse_tracking_event(self, request, *, previous_value):
        """Verify a carrier's webhook request and return its TrackingEventData list.

        Raise DomainError(LogisticsErrorCode.INVALID_SIGNATURE) for a bad signature.
        """
        return NotImplemented

    def fetch_tracking_events(self, shipment, *, previous_value):
        """Pull TrackingEventData for a ShipmentReference from the carrier (carriers with an API)."""
        return NotImplemented

    def cancel_shipment(self, shipment, *, previous_value):
        """Cancel a booked shipment (a ShipmentReference) at the carrier; return True."""
        return NotImplemented

    # --- Arbitration: the dispute policy. Contract types are in plugins/arbitration/interface.py;
    # core code calls them through backend/disputes/policy.py. `dispute` is a DisputeFacts. ---

    def deadline_for(self, dispute, state: str, *, previous_value):
        """How long (a timedelta) the dispute may wait in `state` (a DisputeStatus value) before
        automatic_ruling applies; None for no deadline."""
        return NotImplemented

    def automatic_ruling(self, dispute, *, previous_value):
        """The Ruling applied when the deadline of the dispute's current state passes,
        or None to leave the dispute waiting (for example for staff)."""
        return NotImplemented

    def suggested_outcome(self, dispute, *, previous_value):
        """A Suggestion shown to staff arbitrating the dispute."""
        return NotImplemented

    def deposit_penalty(self, dispute, ruling, *, previous_value):
        """A DepositPenalty taken from the vendor's deposit with this Ruling, or None."""
        return NotImplemented

    # --- Listing: automatic checks before human review. Contract types are in
    # backend/catalog/listing_checks.py. ---

    def check_listing(self, listing, *, previous_value):
        """Check a listing (a ListingContent) before it goes to review.

        previous_value is the list of ListingProblem found by earlier plugins;
        return it with this plugin's problems added, or NotImplemented.
        """
        return NotImplemented
