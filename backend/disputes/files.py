"""Dispute evidence pictures: private, served only through signed, expiring links.

The storage path of a picture is never handed out; the API gives each party (and
arbitration staff) links signed for one rendition of one picture, which stop
working after settings.DISPUTE_EVIDENCE_LINK_MAX_AGE seconds. Like vendor
documents (backend.vendors.files), on backend.core.signed_files.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from backend.core.signed_files import read_file_token, sign_file_token

EVIDENCE_LINK_SALT = "disputes.evidence"
# Evidence pictures are kept as these renditions only (WebP + JPEG, no metadata).
EVIDENCE_SIZES = {"thumbnail": (200, 200), "large": (1600, 1600)}
CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class EvidenceRendition:
    evidence_id: int
    size: str
    format: str


ORIGINAL = "original"
ORIGINAL_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


def evidence_link_path(evidence, size: str, fmt: str = "jpeg", *, viewer=None) -> str | None:
    """A signed link to one rendition of an evidence picture; None when it has no such rendition.

    While the picture is processing (its renditions not made yet) only its uploader (`viewer`)
    gets a link, to the upload as it came: the other party and staff get none until the
    rendition exists, so the original's EXIF (GPS position, camera serial) never reaches them.
    """
    if evidence.status != "ready":
        if viewer is None or not evidence.original or evidence.uploaded_by_id != getattr(viewer, "pk", None):
            return None
        token = sign_file_token({"e": evidence.pk, "s": size, "f": ORIGINAL, "u": viewer.pk}, salt=EVIDENCE_LINK_SALT)
        return reverse("dispute-evidence", kwargs={"token": token})
    if not (evidence.renditions or {}).get(size, {}).get(fmt):
        return None
    token = sign_file_token({"e": evidence.pk, "s": size, "f": fmt}, salt=EVIDENCE_LINK_SALT)
    return reverse("dispute-evidence", kwargs={"token": token})


def evidence_rendition_from_token(token: str) -> EvidenceRendition | None:
    payload = read_file_token(token, salt=EVIDENCE_LINK_SALT, max_age=settings.DISPUTE_EVIDENCE_LINK_MAX_AGE)
    if payload is None:
        return None
    try:
        return EvidenceRendition(evidence_id=int(payload["e"]), size=str(payload["s"]), format=str(payload["f"]))
    except (KeyError, TypeError, ValueError):
        return None
