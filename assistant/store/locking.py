"""Several processes on one embedded Chroma directory.

Chroma's embedded client keeps its vector index in memory and does not see what
another process writes (its queries then miss those records, or fail with
"Error creating hnsw segment reader"). So processes take turns: a file lock
(``filelock``) is held for the length of each batch, and every writer stores a
fresh token in a generation file before it writes; a process that finds a token
it did not write reopens its client before it reads.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import StorageError

#: How long a batch waits for another process's batch, in seconds.
LOCK_TIMEOUT_SECONDS = 30.0


class ProcessLock:
    """Serialises processes that share one Chroma directory.

    A file lock (``filelock``) is held for the length of a batch. Every writer
    stores a fresh token in the generation file before it writes; a process that
    finds a token it did not write reopens its client first.
    """

    def __init__(self, directory: Path) -> None:
        from filelock import FileLock

        self._lock = FileLock(directory / "assistant.lock", timeout=LOCK_TIMEOUT_SECONDS)
        self._generation = directory / "assistant.generation"
        self.seen = self._read()

    def peek(self) -> str:
        """The generation token now in the file (without taking the lock)."""
        return self._read()

    def _read(self) -> str:
        try:
            return self._generation.read_text()
        except FileNotFoundError:
            return ""

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Hold the lock; yields whether another process wrote since we last looked."""
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout as exc:
            raise StorageError(
                f"The memory store is busy: another assistant process has held its lock for "
                f"{LOCK_TIMEOUT_SECONDS:.0f} s ({self._lock.lock_file}). Try again."
            ) from exc
        try:
            current = self._read()
            changed = current != self.seen
            self.seen = current
            yield changed
        finally:
            self._lock.release()

    def bump(self) -> None:
        token = uuid.uuid4().hex
        tmp = self._generation.with_suffix(".tmp")
        tmp.write_text(token)
        os.replace(tmp, self._generation)
        self.seen = token
