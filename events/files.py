"""Deletion of stored files (photos, selfies, renditions) together with the rows that name them."""

import logging
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction
from django.db.models.fields.files import FieldFile

logger = logging.getLogger(__name__)


def delete_files_on_commit(files: Iterable[FieldFile]) -> int:
    """Delete the files from storage once the current transaction commits; return how many are queued.

    The caller deletes the rows that name the files in that transaction.
    Waiting for the commit means that a rolled-back deletion leaves no row
    whose file is gone. Outside a transaction, the files go at once.
    """
    pending = [(file.storage, file.name) for file in files if file.name]
    if pending:
        transaction.on_commit(lambda: _delete_files(pending))
    return len(pending)


def _delete_files(pending: list) -> None:
    for storage, name in pending:
        try:
            storage.delete(name)
        except OSError:
            # The row is gone already, so nothing would retry this file.
            logger.exception("Deleting stored file %s failed; delete it by hand", name)
            continue
        _remove_empty_folders(storage, name)


def _remove_empty_folders(storage, name: str) -> None:
    """Remove the folders above a deleted file that are left empty, on local storage only.

    Folders are named by the ids of people and events (selfies/<user id>/),
    so an empty one would still tell that the person or event existed.
    Object stores such as S3 have no folders and raise NotImplementedError.
    """
    try:
        folder = Path(storage.path(name)).parent
        root = Path(storage.path(""))
    except NotImplementedError:
        return

    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            # Not empty: the folders above are not empty either.
            return
        folder = folder.parent
