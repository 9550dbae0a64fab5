"""The campaign and enrolment workflows, written down as data."""

from backend.core.state_machine import StateMachine

from .error_codes import CampaignErrorCode
from .models import CampaignStatus as C
from .models import EnrolmentStatus as N

CAMPAIGN_TRANSITIONS = {
    C.DRAFT: {C.OPEN_FOR_ENROLMENT, C.CANCELLED},
    C.OPEN_FOR_ENROLMENT: {C.LIVE, C.CANCELLED},
    C.LIVE: {C.ENDED, C.CANCELLED},
    C.ENDED: set(),
    C.CANCELLED: set(),
}

ENROLMENT_TRANSITIONS = {
    N.PENDING: {N.APPROVED, N.REJECTED, N.WITHDRAWN},
    N.APPROVED: {N.WITHDRAWN},
    N.REJECTED: set(),
    N.WITHDRAWN: set(),
}

campaign_machine = StateMachine("campaign", CAMPAIGN_TRANSITIONS, CampaignErrorCode.INVALID_TRANSITION)
enrolment_machine = StateMachine("campaign enrolment", ENROLMENT_TRANSITIONS, CampaignErrorCode.INVALID_TRANSITION)
