"""Where files live: public media (MEDIA_ROOT, served by path) and private files (never by path).

Qualification documents and dispute evidence go to the "private" storage (settings.STORAGES):
by default a folder outside MEDIA_ROOT, settings.PRIVATE_MEDIA_ROOT, that no URL maps to, in
DEBUG too. Only the signed views (backend.core.signed_files.private_file_response) read it. In
production it may be any storage with the same contract, e.g. a private S3 bucket (see README,
"Private files").
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.utils.functional import cached_property


class PrivateFileSystemStorage(FileSystemStorage):
    """A folder (settings.PRIVATE_MEDIA_ROOT unless `location` is given) with no URL."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError("Private files have no URL; hand out a signed link (backend.core.signed_files).")


def private_storage():
    """The storage of private files; a callable, so FileField(storage=...) follows settings changes."""
    return storages["private"]


def move_to_private(names, *, public=None, private=None) -> int:
    """Move files stored under these names from the public media storage to the private one,
    keeping their names (what the rows point to). Idempotent: a file already moved, or gone,
    is left alone. Returns how many were moved."""
    from django.core.files.storage import default_storage

    public = public or default_storage
    private = private or private_storage()
    moved = 0
    for name in names:
        if not name or not public.exists(name):
            continue
        if not private.exists(name):
            with public.open(name, "rb") as handle:
                stored = private.save(name, handle)
            if stored != name:  # never expected for a free name; keep the row's name valid
                private.delete(stored)
                continue
        public.delete(name)
        moved += 1
    return moved


def private_file_names(apps=None) -> list[str]:
    """Every stored name of a private file: qualification documents and dispute evidence renditions.
    `apps` is a migration's app registry (historical models), the live one when None."""
    if apps is None:
        from django.apps import apps
    document = apps.get_model("vendors", "ApplicationDocument")
    evidence = apps.get_model("disputes", "DisputeEvidence")
    names = [name for name in document.objects.values_list("file", flat=True) if name]
    for renditions in evidence.objects.values_list("renditions", flat=True):
        names += [path for formats in (renditions or {}).values() for path in (formats or {}).values() if path]
    if any(f.name == "original" for f in evidence._meta.get_fields()):  # not in the oldest migrations
        names += [name for name in evidence.objects.values_list("original", flat=True) if name]
    return names
