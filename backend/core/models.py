from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class AuditLogEntry(models.Model):
    """Who did what to which object, when and why. Written by services, never edited."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_type.model}#{self.target_id}"


def _plain_attribute(cls, attname: str) -> bool:
    from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
    from django.db.models.query_utils import DeferredAttribute

    for klass in cls.__mro__:
        if attname in klass.__dict__:
            return type(klass.__dict__[attname]) in (DeferredAttribute, ForeignKeyDeferredAttribute)
    return False


class FastLoad:
    """Rows read from the database become instances without Model.__init__: the loaded columns go
    straight into the instance's __dict__, which is what __init__ ends up doing for a model whose
    fields are all plain column attributes (deferred ones are left out, and read on access as
    usual). Used by the models the storefront lists by the page; a model with a field of its own
    descriptor (files, custom setters) or with init signal receivers takes Django's way."""

    @classmethod
    def from_db(cls, db, field_names, values):
        plain = cls.__dict__.get("_fast_load_plain")
        if plain is None:
            plain = all(_plain_attribute(cls, f.attname) for f in cls._meta.concrete_fields)
            cls._fast_load_plain = plain
        if not plain or models.signals.pre_init.has_listeners(cls) or models.signals.post_init.has_listeners(cls):
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        new.__dict__.update(zip(field_names, values))
        state = new._state = models.base.ModelState()
        state.adding = False
        state.db = db
        return new
