from django.db import models


class PluginConfiguration(models.Model):
    """Staff's settings for one plugin; a plugin without a row runs on its defaults."""

    identifier = models.CharField(max_length=128, unique=True)
    active = models.BooleanField(default=False)
    configuration = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return self.identifier
