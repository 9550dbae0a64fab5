from celery import shared_task

from . import services


@shared_task(name="catalog.product_media_render")
def product_media_render(media_id: int, original: str) -> bool:
    """The renditions of an uploaded listing image (queued after the upload commits)."""
    return services.product_media_render(media_id=media_id, original=original)
