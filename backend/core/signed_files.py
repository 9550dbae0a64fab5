"""Private files behind signed, expiring links.

A stored file that only some people may see (a vendor's qualification documents,
a dispute's evidence pictures) is never linked by its storage path. The API hands
out a link carrying a signed token instead, only to those who may see the file;
the link itself is then the permission, until it expires. Each kind of file signs
with its own salt, so a token for one kind never opens another.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect

from .storage import private_storage


def sign_file_token(payload: dict, *, salt: str) -> str:
    """A URL-safe token naming a file (payload: small ids, not paths)."""
    return signing.dumps(payload, salt=salt, compress=True)


def read_file_token(token: str, *, salt: str, max_age: int) -> dict | None:
    """The payload of a token signed with `salt` less than `max_age` seconds ago; None otherwise."""
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # also covers SignatureExpired
        return None
    return payload if isinstance(payload, dict) else None


def _is_local(storage, name: str) -> bool:
    try:
        storage.path(name)
    except NotImplementedError:
        return False
    return True


def private_file_response(name: str | None, *, content_type: str, filename: str) -> HttpResponse:
    """Serve a private file inline (previews), never sniffed, run or cached by shared caches.

    With settings.PRIVATE_MEDIA_ACCEL_REDIRECT (e.g. "/private-media/") the web server sends the
    file: the answer carries only `X-Accel-Redirect: /private-media/<name>`, a location nginx
    marks `internal` (README, "Private files"), so the worker does not stream it. A storage
    without local paths (a private bucket) is answered with a redirect to its signed URL.
    """
    storage = private_storage()
    if not name or not storage.exists(name):
        raise Http404("No such file, or the link has expired.")
    accel = settings.PRIVATE_MEDIA_ACCEL_REDIRECT
    if not _is_local(storage, name):
        # A private bucket: the storage's own short-lived signed URL (e.g. S3 with querystring auth).
        response = HttpResponseRedirect(storage.url(name))
    elif accel:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{name.lstrip('/')}"
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    else:
        response = FileResponse(storage.open(name, "rb"), content_type=content_type, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


__all__ = ["private_file_response", "read_file_token", "sign_file_token"]
