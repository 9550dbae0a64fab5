from celery import shared_task

from . import services


@shared_task(name="vendors.vendor_image_render")
def vendor_image_render(vendor_id: int, kind: str, original: str) -> bool:
    """The renditions of a store's uploaded logo or banner (queued after the upload commits)."""
    return services.vendor_image_render(vendor_id=vendor_id, kind=kind, original=original)
