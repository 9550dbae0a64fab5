"""Pictures kept on storage as renditions: store logos and banners, listing images, dispute evidence.

Files are written only after every check has passed, and the work that writes
them removes them again when it fails, so a refused or broken change leaves
nothing in storage. Files that a change replaces are removed only once the new
state is committed, so a rolled-back change still finds its old pictures.

    with transaction.atomic(), StagedFiles() as staged:
        obj.renditions = store_renditions(staged, prefix=f"products/{pk}", renditions=render_sizes(...))
        obj.save()
        delete_files_on_commit(replaced_paths)

Public pictures (listing images, store logos and banners) are rendered in the worker: the
request stores the checked upload as it came (store_original) and points every rendition at
it (original_as_renditions), so the listing or profile shows the original until a Celery task,
queued after commit (run_after_commit; eager on the embedded default), replaces it with the
renditions and removes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import transaction

__all__ = [
    "RENDITION_FORMATS",
    "StagedFiles",
    "original_as_renditions",
    "run_after_commit",
    "store_original",
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


RENDITION_FORMATS = ("webp", "jpeg")


def store_original(staged: StagedFiles, *, prefix: str, checked) -> str:
    """The checked upload as it came, in a fresh unguessable folder; shown until its renditions exist."""
    return staged.save(f"{prefix}/{secrets.token_hex(16)}/original.{checked.extension}", ContentFile(checked.content))


def original_as_renditions(path: str, sizes: Iterable[str]) -> dict[str, dict[str, str]]:
    """Every rendition of `sizes` pointing at the original, until the worker has made them."""
    return {size: {fmt: path for fmt in RENDITION_FORMATS} for size in sizes}


def run_after_commit(task, *args) -> None:
    """Queue a Celery task once the current transaction commits (run in-process when eager).
    A failing rendition leaves the original shown; it is logged, never the request's error."""
    transaction.on_commit(lambda: task.delay(*args), robust=True)


def rendition_paths(renditions: dict | None) -> list[str]:
    """Every storage path in a stored {size: {format: path}} map."""
    paths = [path for formats in (renditions or {}).values() for path in formats.values()]
    return list(dict.fromkeys(paths))  # the original stands for every rendition until they exist


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
