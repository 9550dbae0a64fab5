from enum import Enum


class CampaignErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # The slug is taken by another campaign.
    SLUG_TAKEN = "slug_taken"
    # The campaign does not take enrolments now (not open, or its enrolment deadline passed).
    ENROLMENT_CLOSED = "enrolment_closed"
    # The enrolment breaks one of the campaign's rules (discount, category, units).
    RULE_BROKEN = "rule_broken"
    # The variant is enrolled already (pending or approved), or a flash sale of it overlaps the campaign.
    CONFLICT = "conflict"
    # The campaign price shown is gone (its units sold, the window closed): nothing was charged.
    PRICE_CHANGED = "price_changed"
