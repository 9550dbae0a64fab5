from django.contrib.contenttypes.models import ContentType

from .models import AuditLogEntry


def audit_log(*, actor, action: str, target, reason: str = "", **data) -> AuditLogEntry:
    """Record a decision. Called inside the service's transaction so it lands with the change."""
    return AuditLogEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        reason=reason or "",
        data=data,
    )


def audit_trail(target):
    return AuditLogEntry.objects.filter(
        target_type=ContentType.objects.get_for_model(target), target_id=str(target.pk)
    ).select_related("actor")
