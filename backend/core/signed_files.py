"""Private files behind signed, expiring links.

A stored file that only some people may see (a vendor's qualification documents,
a dispute's evidence pictures) is never linked by its storage path. The API hands
out a link carrying a signed token instead, only to those who may see the file;
the link itself is then the permission, until it expires. Each kind of file signs
with its own salt, so a token for one kind never opens another.
"""

from __future__ import annotations

from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404


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


def private_file_response(name: str | None, *, content_type: str, filename: str) -> FileResponse:
    """Serve a stored file inline (previews), never sniffed, run or cached by shared caches."""
    if not name or not default_storage.exists(name):
        raise Http404("No such file, or the link has expired.")
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


__all__ = ["private_file_response", "read_file_token", "sign_file_token"]
