from enum import Enum


class CatalogErrorCode(Enum):
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
    # The vendor's status does not allow listing (see catalog.vendor_rules).
    VENDOR_NOT_ALLOWED = "vendor_not_allowed"
    # Problems found by the listing plugins' automatic checks.
    BANNED_WORD = "banned_word"
    IMAGE_REQUIRED = "image_required"
    IMAGE_TOO_SMALL = "image_too_small"
    LISTING_CHECK_FAILED = "listing_check_failed"
