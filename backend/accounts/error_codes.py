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
