from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = "Platform core"

    def ready(self):
        from . import observability

        # Task run and failure counters for every Celery task (worker and eager runs alike).
        observability.connect_celery_signals()
