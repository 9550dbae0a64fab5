"""Tasks for test_observability's real worker (loaded with `celery worker --include`); no database."""

from celery import shared_task


@shared_task(name="tests.platform.worker_succeeds")
def worker_succeeds():
    return "done"


@shared_task(name="tests.platform.worker_fails")
def worker_fails():
    raise RuntimeError("failed on purpose")
