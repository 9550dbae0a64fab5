"""Pictures kept on storage as renditions: store logos and banners, listing images, dispute evidence.

Files are written only after every check has passed, and the work that writes
them removes them again when it fails, so a refused or broken change leaves
nothing in storage. Files that a change replaces are removed only once the new
state is committed, so a rolled-back change still finds its old pictures.

    with transaction.atomic(), StagedFiles() as staged:
        obj.renditions = store_renditions(staged, prefix=f"products/{pk}", renditions=render_sizes(...))
        obj.save()
        delete_files_on_commit(replaced_paths)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import transaction

__all__ = [
    "StagedFiles",
    "delete_files",
    "delete_files_on_commit",
    "rendition_paths",
    "store_renditions",
]


class StagedFiles:
    """Files written during one piece of work; deleted again if the work raises.

    `storage` is the public media storage unless given (private files: core.storage.private_storage()).
    """

    def __init__(self, storage: Storage | None = None) -> None:
        self.names: list[str] = []
        self.storage = storage

    def save(self, name: str, content: ContentFile) -> str:
        stored = (self.storage or default_storage).save(name, content)
        self.names.append(stored)
        return stored

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            delete_files(self.names, storage=self.storage)
        return False


def delete_files(names: Iterable[str], *, storage: Storage | None = None) -> None:
    storage = storage or default_storage
    for name in names:
        if name:
            storage.delete(name)


def delete_files_on_commit(names: Iterable[str], *, storage: Storage | None = None) -> None:
    """Remove files that the committed state no longer points to (never before the commit)."""
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: delete_files(names, storage=storage))


def rendition_paths(renditions: dict | None) -> list[str]:
    """Every storage path in a stored {size: {format: path}} map."""
    return [path for formats in (renditions or {}).values() for path in formats.values()]


def store_renditions(
    staged: StagedFiles, *, prefix: str, renditions: dict[str, dict[str, ContentFile]]
) -> dict[str, dict[str, str]]:
    """Store what render_sizes made under `prefix`; returns the {size: {format: path}} map to keep.

    Each upload gets a fresh unguessable folder: browsers and CDNs never serve a stale
    picture, and private pictures (dispute evidence) cannot be found by guessing.
    """
    folder = f"{prefix}/{secrets.token_hex(16)}"
    return {
        size: {fmt: staged.save(f"{folder}/{content.name}", content) for fmt, content in formats.items()}
        for size, formats in renditions.items()
    }
