"""Uploaded files are checked by their content, never by their name.

Images are opened and fully decoded with Pillow under size and pixel limits
(decompression bombs are refused); PDFs are recognised by their signature.
Each use has its own decoded-pixel limit (settings.UPLOAD_IMAGE_PIXEL_LIMITS:
documents, evidence, product media, store images), checked against the size the
file's header declares before any pixel is decoded, so a small file declaring a
huge picture costs nothing but reading its header.
Images that the platform shows again are re-encoded, which drops EXIF and any
bytes appended to the picture.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps

from .error_codes import UploadErrorCode
from .exceptions import DomainError

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
PDF_SIGNATURE = b"%PDF-"


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    extension: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None


def _read(upload, field: str) -> bytes:
    if not callable(getattr(upload, "read", None)):
        # A value inline in the query (text, a literal) where the multipart request should put a file.
        raise DomainError(
            UploadErrorCode.UNSUPPORTED_FILE_TYPE, "Not a file: send it in a multipart request.", field=field
        )
    size = getattr(upload, "size", None)
    if size is not None and size > settings.UPLOAD_MAX_BYTES:
        raise DomainError(
            UploadErrorCode.FILE_TOO_LARGE,
            f"The file is larger than {settings.UPLOAD_MAX_BYTES} bytes.",
            field=field,
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(content) > settings.UPLOAD_MAX_BYTES:
        raise DomainError(
            UploadErrorCode.FILE_TOO_LARGE,
            f"The file is larger than {settings.UPLOAD_MAX_BYTES} bytes.",
            field=field,
        )
    if not content:
        raise DomainError(UploadErrorCode.UNSUPPORTED_FILE_TYPE, "The file is empty.", field=field)
    return content


def pixel_limit(use: str | None) -> int:
    """The decoded-pixel limit of a use ("document", "evidence", "product_media", "store_image"),
    never above the global UPLOAD_MAX_IMAGE_PIXELS."""
    limits = settings.UPLOAD_IMAGE_PIXEL_LIMITS
    if use is not None and use not in limits:
        raise ValueError(f"Unknown image use {use!r}.")
    return min(limits.get(use, settings.UPLOAD_MAX_IMAGE_PIXELS), settings.UPLOAD_MAX_IMAGE_PIXELS)


def _open_image(content: bytes, field: str, use: str | None = None) -> Image.Image:
    """Open and fully decode an image, refusing bombs and oversized pictures.

    The header's declared size is checked against the use's limit before anything is decoded
    (Image.open reads the header only; verify() and load() come after)."""
    max_pixels = pixel_limit(use)
    Image.MAX_IMAGE_PIXELS = settings.UPLOAD_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(content))
            width, height = probe.size
            if width * height > max_pixels or max(width, height) > settings.UPLOAD_MAX_IMAGE_SIDE:
                raise DomainError(
                    UploadErrorCode.IMAGE_TOO_LARGE,
                    f"The image is {width}x{height} pixels; at most {max_pixels} pixels "
                    f"({settings.UPLOAD_MAX_IMAGE_SIDE} a side) are allowed here.",
                    field=field,
                )
            probe.verify()
            image = Image.open(io.BytesIO(content))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DomainError(
            UploadErrorCode.IMAGE_TOO_LARGE, "The image has too many pixels.", field=field
        ) from exc
    except DomainError:
        raise
    except Exception as exc:  # Pillow raises many kinds for corrupt data
        raise DomainError(
            UploadErrorCode.INVALID_IMAGE, "The file is not a readable image.", field=field
        ) from exc
    if image.format not in IMAGE_FORMATS:
        raise DomainError(
            UploadErrorCode.UNSUPPORTED_FILE_TYPE,
            f"Images must be one of {', '.join(IMAGE_FORMATS)}.",
            field=field,
        )
    return image


def _looks_like_image(content: bytes) -> bool:
    return (
        content.startswith(b"\xff\xd8\xff")
        or content.startswith(b"\x89PNG\r\n\x1a\n")
        or content.startswith(b"GIF8")
        or (content[:4] == b"RIFF" and content[8:12] == b"WEBP")
    )


def check_image(upload, *, field: str = "image", use: str | None = None) -> CheckedFile:
    content = _read(upload, field)
    image = _open_image(content, field, use)
    return CheckedFile(
        content=content,
        content_type=IMAGE_FORMATS[image.format],
        extension=image.format.lower().replace("jpeg", "jpg"),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        width=image.width,
        height=image.height,
    )


def check_document(upload, *, field: str = "file") -> CheckedFile:
    """A qualification document: a PDF or an image (under the documents' pixel limit)."""
    content = _read(upload, field)
    if content.startswith(PDF_SIGNATURE):
        if b"%%EOF" not in content[-1024:]:
            raise DomainError(
                UploadErrorCode.UNSUPPORTED_FILE_TYPE, "The PDF is truncated.", field=field
            )
        return CheckedFile(
            content=content,
            content_type="application/pdf",
            extension="pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
    if _looks_like_image(content):
        return check_image(ContentFile(content), field=field, use="document")
    raise DomainError(
        UploadErrorCode.UNSUPPORTED_FILE_TYPE,
        "Documents must be PDF files or images (JPEG, PNG, WebP).",
        field=field,
    )


def _flatten(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.split()[-1])
        return background
    return image.convert("RGB")


def render_sizes(
    checked: CheckedFile,
    sizes: dict[str, tuple[int, int]],
    *,
    formats: tuple[str, ...] = ("webp", "jpeg"),
    crop: bool = False,
) -> dict[str, dict[str, ContentFile]]:
    """Re-encode an image into named sizes and formats, without its metadata.

    Returns {size_name: {format: ContentFile}}; a picture is never enlarged.
    """
    source = _flatten(Image.open(io.BytesIO(checked.content)))
    # Nothing of the upload's metadata (EXIF with its GPS position, XMP, ICC, comments) is carried
    # over: Pillow writes only what is passed to save(), and the decoded info is dropped as well.
    source.info = {}
    renditions: dict[str, dict[str, ContentFile]] = {}
    for name, box in sizes.items():
        if crop:
            picture = ImageOps.fit(source, box, method=Image.Resampling.LANCZOS)
        else:
            picture = source.copy()
            picture.thumbnail(box, Image.Resampling.LANCZOS)
        renditions[name] = {}
        for fmt in formats:
            buffer = io.BytesIO()
            if fmt == "webp":
                picture.save(buffer, "WEBP", quality=82, method=4)
            else:
                picture.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
            ext = "jpg" if fmt == "jpeg" else fmt
            renditions[name][fmt] = ContentFile(buffer.getvalue(), name=f"{name}.{ext}")
    return renditions
