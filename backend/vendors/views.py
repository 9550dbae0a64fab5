"""Serving qualification documents: private files behind signed, expiring links."""

from django.http import Http404

from backend.core.signed_files import private_file_response

from .files import document_id_from_token
from .models import ApplicationDocument


def application_document(request, token: str):
    """The link itself is the permission: it is only given to those who may see the application."""
    document_id = document_id_from_token(token)
    document = ApplicationDocument.objects.filter(pk=document_id).first() if document_id else None
    if document is None:
        raise Http404("No such document, or the link has expired.")
    extension = document.file.name.rsplit(".", 1)[-1]
    # Shown inline (previews), but never sniffed or run as something else.
    return private_file_response(
        document.file.name, content_type=document.content_type, filename=f"{document.document_type}.{extension}"
    )
