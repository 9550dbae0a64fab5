from enum import Enum


class VendorErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    UNIQUE = "unique"
    FILE_TOO_LARGE = "file_too_large"
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
    INVALID_IMAGE = "invalid_image"
    IMAGE_TOO_LARGE = "image_too_large"
    DOCUMENT_REQUIRED = "document_required"
    ALREADY_APPLIED = "already_applied"
    ALREADY_VENDOR_STAFF = "already_vendor_staff"
    LAST_OWNER = "last_owner"
    VENDOR_CLOSED = "vendor_closed"
    # The shipping origin names no region of the logistics tables.
    UNKNOWN_REGION = "unknown_region"
    # Activation and reinstatement wait for the fee year and the deposit (finance.standing).
    ENTRY_FEE_UNPAID = "entry_fee_unpaid"
    DEPOSIT_SHORT = "deposit_short"
    # Closing completes only when orders, disputes and the cooling-off period allow.
    NOT_SETTLED = "not_settled"
    # Store staff invitations.
    TOO_MANY_INVITATIONS = "too_many_invitations"
    INVITATION_EXPIRED = "invitation_expired"
