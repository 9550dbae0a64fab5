"""Files of the vendor domain: qualification documents (private) and store images (public).

Files are written only after every check has passed, and a service that fails
after writing some removes them again, so a refused upload leaves nothing in
storage. Replaced files are removed only once the new state is committed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse

from backend.core.uploads import CheckedFile, render_sizes

# Renditions of the store profile images: name -> box. Both are cropped to fill the box.
LOGO_SIZES = {"64": (64, 64), "128": (128, 128), "256": (256, 256)}
BANNER_SIZES = {"1200x300": (1200, 300), "600x150": (600, 150)}
IMAGE_KINDS = {"logo": LOGO_SIZES, "banner": BANNER_SIZES}

DOCUMENT_LINK_SALT = "vendors.application-document"


class StagedFiles:
    """Files written during one service call; deleted again if the call raises."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def save(self, name: str, content: ContentFile) -> str:
        stored = default_storage.save(name, content)
        self.names.append(stored)
        return stored

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            delete_files(self.names)
        return False


def delete_files(names: Iterable[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def delete_files_on_commit(names: Iterable[str]) -> None:
    """Remove files that the committed state no longer points to (never before the commit)."""
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: delete_files(names))


def rendition_paths(renditions: dict) -> list[str]:
    """Every storage path in a {size: {format: path}} map."""
    return [path for formats in (renditions or {}).values() for path in formats.values()]


def store_image_renditions(
    staged: StagedFiles, *, vendor_id: int, kind: str, checked: CheckedFile
) -> dict[str, dict[str, str]]:
    """Re-encode a checked picture into the kind's sizes (WebP + JPEG, no EXIF) and store them."""
    sizes = IMAGE_KINDS[kind]
    # A fresh folder per upload, so browsers and CDNs never serve a stale picture.
    folder = f"vendors/{vendor_id}/{kind}/{secrets.token_hex(8)}"
    stored: dict[str, dict[str, str]] = {}
    for size, formats in render_sizes(checked, sizes, crop=True).items():
        stored[size] = {fmt: staged.save(f"{folder}/{content.name}", content) for fmt, content in formats.items()}
    return stored


def document_link_path(document) -> str:
    """A signed, expiring link to a qualification document; only handed to those who may see it."""
    token = signing.dumps({"d": document.pk}, salt=DOCUMENT_LINK_SALT, compress=True)
    return reverse("vendor-document", kwargs={"token": token})


def document_id_from_token(token: str) -> int | None:
    try:
        payload = signing.loads(token, salt=DOCUMENT_LINK_SALT, max_age=settings.VENDOR_DOCUMENT_LINK_MAX_AGE)
    except signing.BadSignature:  # also covers SignatureExpired
        return None
    return payload.get("d") if isinstance(payload, dict) else None
