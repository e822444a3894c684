"""What an embedded store expects to find: a small file beside ``chroma.sqlite3``.

A damaged store must not read as an empty one. Chroma makes a fresh database in
place of a 0-byte or missing ``chroma.sqlite3`` (and an emptied one lists no
collections), so, unaided, a store that lost its data opens as a new, empty
store and the loss goes unnoticed. ``assistant.manifest.json`` records what the
store holds: its identity (``store_id``, also kept in the Chroma manifest
collection's metadata), its format, and whether it has ever held items
(``has_items``, rewritten only when that changes: the first put, a delete that
empties it). Opening a store whose identity is gone or changed, or that has no
items while the file says it had, is refused with what happened and how to
restore. The file is written atomically (a temporary file, ``fsync``, then
``os.replace``).

What it does not see: a store that lost some of its items but not all (there is
no count to compare without a write per batch); ``assistant doctor`` runs
SQLite's ``PRAGMA integrity_check`` on the database for damaged pages.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from langgraph.store.base import PutOp

from assistant.errors import StorageError

log = logging.getLogger(__name__)

NAME = "assistant.manifest.json"
FORMAT = 1


class StoreLostError(StorageError):
    """The store does not hold what its manifest says it held (data loss)."""


def restore_hint(directory: Path) -> str:
    """How to get the memories back, in one sentence."""
    return (
        f"Nothing was changed. To restore: move {directory} away and run `assistant memories "
        "import FILE` with an export (made by `assistant memories export`), or put back a "
        f"backup of {directory}; to start afresh on purpose, delete {directory / NAME}."
    )


class Sentinel:
    """``assistant.manifest.json`` in an embedded store's directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / NAME
        self.store_id: str | None = None
        self.has_items = False

    def open(self, store_id: str, count: Callable[[], int]) -> None:
        """Check the opened store (identity ``store_id``, ``count()`` items) against
        the file, then write the file when it is missing or out of date.

        Raises:
            StoreLostError: the store was replaced or emptied.
        """
        expected = self.read()
        items = count()
        self.check(expected, store_id, items)
        self.store_id, self.has_items = store_id, items > 0
        if expected != self._data():
            self._save()

    def written(self, puts: Iterable[PutOp], count: Callable[[], int]) -> None:
        """Keep ``has_items`` true to the store after a batch of ``puts``: set by
        the first put, cleared by a delete that leaves no item."""
        ops = list(puts)
        if not self.has_items and any(op.value is not None for op in ops):
            self.has_items = True
            self._save()
        elif self.has_items and any(op.value is None for op in ops) and count() == 0:
            self.has_items = False
            self._save()

    def _data(self) -> dict[str, Any]:
        return {"format": FORMAT, "store_id": self.store_id, "has_items": self.has_items}

    def _save(self) -> None:
        try:
            self.write(self._data())
        except OSError as exc:
            log.warning("could not write %s: %s", self.path, exc)

    def read(self) -> dict[str, Any] | None:
        """What the file records, or ``None`` when there is none.

        Raises:
            StoreLostError: the file is there but unreadable.
        """
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreLostError(
                f"The memory store's manifest {self.path} cannot be read ({exc}). "
                + restore_hint(self.directory)
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("store_id"), str):
            raise StoreLostError(
                f"The memory store's manifest {self.path} is damaged. "
                + restore_hint(self.directory)
            )
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file's content, atomically."""
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def check(self, expected: dict[str, Any] | None, store_id: str | None, items: int) -> None:
        """Refuse a store that lost what ``expected`` (the file) records.

        Args:
            expected: what the file records (``None``: nothing to compare).
            store_id: the identity found in Chroma (``None``: no manifest there).
            items: how many items the store holds now.

        Raises:
            StoreLostError: the store was replaced or emptied.
        """
        if expected is None:
            return
        where = self.directory / "chroma.sqlite3"
        if store_id is None:
            state = "is missing" if not where.exists() else f"holds {_size(where)}"
            raise StoreLostError(
                f"The memory store at {self.directory} has lost its data: {where.name} {state} "
                "and none of the store it should hold. " + restore_hint(self.directory)
            )
        if store_id != expected["store_id"]:
            raise StoreLostError(
                f"The memory store at {self.directory} was replaced by another one (its "
                "identity differs from its manifest). " + restore_hint(self.directory)
            )
        if expected.get("has_items") and items == 0:
            raise StoreLostError(
                f"The memory store at {self.directory} has lost its data: it held memories "
                "and now holds none. " + restore_hint(self.directory)
            )


def _size(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return "nothing readable"
    return "0 bytes" if size == 0 else f"{size:,} bytes"
