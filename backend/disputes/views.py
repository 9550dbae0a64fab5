"""Serving dispute evidence: private pictures behind signed, expiring links."""

from django.http import Http404

from backend.core.signed_files import private_file_response

from .files import CONTENT_TYPES, ORIGINAL, ORIGINAL_CONTENT_TYPES, evidence_rendition_from_token
from .models import DisputeEvidence, EvidenceStatus


def dispute_evidence(request, token: str):
    """The link itself is the permission: it is only given to the dispute's parties and arbitration staff."""
    wanted = evidence_rendition_from_token(token)
    evidence = DisputeEvidence.objects.filter(pk=wanted.evidence_id).first() if wanted else None
    if evidence is None:
        raise Http404("No such picture, or the link has expired.")
    if wanted.format == ORIGINAL:
        # Only ever signed for the uploader, and only while the renditions do not exist yet.
        path = evidence.original if evidence.status == EvidenceStatus.PROCESSING else None
        extension = (path or "").rpartition(".")[2].lower()
        if extension not in ORIGINAL_CONTENT_TYPES:
            raise Http404("No such picture, or the link has expired.")
        return private_file_response(
            path, content_type=ORIGINAL_CONTENT_TYPES[extension], filename=f"evidence-{evidence.pk}.{extension}"
        )
    if wanted.format not in CONTENT_TYPES:
        raise Http404("No such picture, or the link has expired.")
    path = (evidence.renditions or {}).get(wanted.size, {}).get(wanted.format)
    return private_file_response(
        path, content_type=CONTENT_TYPES[wanted.format], filename=f"evidence-{evidence.pk}-{wanted.size}.{wanted.format}"
    )
