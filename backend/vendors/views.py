"""Serving qualification documents: private files behind signed, expiring links."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404

from .files import document_id_from_token
from .models import ApplicationDocument


def application_document(request, token: str):
    """The link itself is the permission: it is only given to those who may see the application."""
    document_id = document_id_from_token(token)
    document = ApplicationDocument.objects.filter(pk=document_id).first() if document_id else None
    if document is None or not default_storage.exists(document.file.name):
        raise Http404("No such document, or the link has expired.")
    extension = document.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        default_storage.open(document.file.name, "rb"),
        content_type=document.content_type,
        filename=f"{document.document_type}.{extension}",
    )
    # Shown inline (previews), but never sniffed or run as something else.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
