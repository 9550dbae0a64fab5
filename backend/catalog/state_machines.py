"""The listing review workflow, written down as data."""

from backend.core.state_machine import StateMachine

from .error_codes import CatalogErrorCode
from .models import ListingStatus as S

LISTING_TRANSITIONS = {
    S.DRAFT: {S.PENDING_REVIEW},
    # Back to draft when the vendor edits reviewed fields while it waits.
    S.PENDING_REVIEW: {S.PUBLISHED, S.REJECTED, S.DRAFT},
    S.REJECTED: {S.DRAFT, S.PENDING_REVIEW},
    S.PUBLISHED: {S.DELISTED},
    S.DELISTED: {S.PENDING_REVIEW},
}

listing_machine = StateMachine("listing", LISTING_TRANSITIONS, CatalogErrorCode.INVALID_TRANSITION)
