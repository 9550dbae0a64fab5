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


def audit_trails(objects) -> dict:
    """The audit entries of several objects of one model in one query: {pk: [entries, oldest first]}."""
    objects = list(objects)
    if not objects:
        return {}
    trails: dict = {obj.pk: [] for obj in objects}
    entries = (
        AuditLogEntry.objects.filter(
            target_type=ContentType.objects.get_for_model(objects[0]), target_id__in=[str(obj.pk) for obj in objects]
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )
    by_id = {str(pk): pk for pk in trails}
    for entry in entries:
        trails[by_id[entry.target_id]].append(entry)
    return trails
