"""Serving dispute evidence: private pictures behind signed, expiring links."""

from django.http import Http404

from backend.core.signed_files import private_file_response

from .files import CONTENT_TYPES, evidence_rendition_from_token
from .models import DisputeEvidence


def dispute_evidence(request, token: str):
    """The link itself is the permission: it is only given to the dispute's parties and arbitration staff."""
    wanted = evidence_rendition_from_token(token)
    evidence = DisputeEvidence.objects.filter(pk=wanted.evidence_id).first() if wanted else None
    if evidence is None or wanted.format not in CONTENT_TYPES:
        raise Http404("No such picture, or the link has expired.")
    path = (evidence.renditions or {}).get(wanted.size, {}).get(wanted.format)
    return private_file_response(
        path, content_type=CONTENT_TYPES[wanted.format], filename=f"evidence-{evidence.pk}-{wanted.size}.{wanted.format}"
    )
