from enum import Enum


class AccountErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    UNIQUE = "unique"
    INVALID_CREDENTIALS = "invalid_credentials"
    INACTIVE = "inactive"
    PASSWORD_TOO_WEAK = "password_too_weak"
    LOGIN_THROTTLED = "login_throttled"
    JWT_INVALID_TOKEN = "jwt_invalid_token"
    JWT_SIGNATURE_EXPIRED = "jwt_signature_expired"
    JWT_REFRESH_TOKEN_REUSED = "jwt_refresh_token_reused"
    OUT_OF_SCOPE_PERMISSION = "out_of_scope_permission"
    # More auth operations in one request than AUTH_OPERATIONS_PER_REQUEST (aliases, batches).
    TOO_MANY_OPERATIONS = "too_many_operations"
    # The right password for an account whose email is not confirmed yet.
    ACCOUNT_NOT_CONFIRMED = "account_not_confirmed"
    # A confirmation or password reset token that is wrong, used or expired (or names no account).
    INVALID_TOKEN = "invalid_token"
