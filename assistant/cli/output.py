"""Where an export goes: standard output, or a file."""

import sys
from pathlib import Path

from assistant.errors import InputError


def write_out(text: str, file: Path | None) -> bool:
    """Write ``text`` to ``file``, or to stdout when it is ``None``.

    Returns:
        Whether it went to a file (the caller then says so on stderr).

    Raises:
        InputError: the file cannot be written (one line, with the reason).
    """
    if file is None:
        sys.stdout.write(text)
        return False
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write {file}: {exc.strerror or exc}.") from exc
    return True
