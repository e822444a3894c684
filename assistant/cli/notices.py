"""Notices on stderr that are said once: the backend's note (a fallback to the
embedded model, a missing Ollama model) appears the first time, and again only
when it changes, not before every ``assistant chat`` of a script."""

import contextlib
import sys
from pathlib import Path

from assistant.formats import terminal_safe

#: The file in the data dir that holds the last notice said.
NOTICE_FILE = "last-notice.txt"


def note_once(data_dir: Path, notice: str | None) -> None:
    """Print ``note: NOTICE`` on stderr unless it is the one said last time for
    ``data_dir`` (kept in :data:`NOTICE_FILE`). Nothing is printed for ``None``; a
    file that cannot be read or written only means the note is said again."""
    if not notice:
        return
    path = data_dir / NOTICE_FILE
    try:
        if path.read_text(encoding="utf-8") == notice:
            return
    except (OSError, UnicodeDecodeError):
        pass
    print(f"note: {terminal_safe(notice)}", file=sys.stderr)
    with contextlib.suppress(OSError):
        path.write_text(notice, encoding="utf-8")
