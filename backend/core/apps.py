from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = "Platform core"

    def ready(self):
        import logging

        from django.conf import settings

        from . import observability

        if settings.LOG_FORMAT == "json":
            # Python warnings become log records too, so every line on stderr is one JSON object.
            logging.captureWarnings(True)

        # Task run and failure counters for every Celery task (worker and eager runs alike).
        observability.connect_celery_signals()
