"""Files of the vendor domain: qualification documents (private) and store images (public).

Writing, cleaning up after a failure and removing replaced files follow backend.core.media.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from backend.core.media import StagedFiles, original_as_renditions, store_original
from backend.core.signed_files import read_file_token, sign_file_token
from backend.core.uploads import CheckedFile

# Renditions of the store profile images: name -> box. Both are cropped to fill the box.
LOGO_SIZES = {"64": (64, 64), "128": (128, 128), "256": (256, 256)}
BANNER_SIZES = {"1200x300": (1200, 300), "600x150": (600, 150)}
IMAGE_KINDS = {"logo": LOGO_SIZES, "banner": BANNER_SIZES}

DOCUMENT_LINK_SALT = "vendors.application-document"


def store_image_original(staged: StagedFiles, *, vendor_id: int, kind: str, checked: CheckedFile) -> tuple[str, dict]:
    """The upload as it came, standing for every rendition until the worker makes them
    (vendors.services.vendor_image_render). Returns (original path, renditions map)."""
    original = store_original(staged, prefix=f"vendors/{vendor_id}/{kind}", checked=checked)
    return original, original_as_renditions(original, IMAGE_KINDS[kind])


def document_link_path(document) -> str:
    """A signed, expiring link to a qualification document; only handed to those who may see it."""
    token = sign_file_token({"d": document.pk}, salt=DOCUMENT_LINK_SALT)
    return reverse("vendor-document", kwargs={"token": token})


def document_id_from_token(token: str) -> int | None:
    payload = read_file_token(token, salt=DOCUMENT_LINK_SALT, max_age=settings.VENDOR_DOCUMENT_LINK_MAX_AGE)
    return payload.get("d") if payload is not None else None
