"""Work of the disputes domain in the worker: evidence renditions, and the periodic tasks
(scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from backend.core.periodic import periodic_task

from . import services


@shared_task(name="disputes.evidence_render")
def evidence_render(evidence_id: int) -> bool:
    """The renditions of an uploaded evidence picture (queued after the upload commits)."""
    return services.dispute_evidence_render(evidence_id=evidence_id)


@periodic_task("disputes.apply_deadlines")
def apply_deadlines() -> int:
    """Apply the arbitration policy to disputes whose deadline passed; safe to run twice."""
    return services.disputes_apply_deadlines()


@periodic_task("disputes.render_pending_evidence")
def render_pending_evidence() -> int:
    """Render evidence whose rendition task was lost or failed (still processing after a while)."""
    return services.disputes_render_pending_evidence()
