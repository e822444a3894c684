"""How the core's values are written for people, in one place: times in local
time, a pydantic validation error as one line, and text made safe to write to a
terminal."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def local_time(moment: datetime, *, seconds: bool = False) -> str:
    """``moment`` in the machine's local time zone: ``2026-11-21 14:03`` (with
    ``seconds``: ``2026-11-21 14:03:07``). A naive ``moment`` is taken as local."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def validation_problems(error: ValidationError, *, whole: str = "value") -> str:
    """A pydantic error as one line: ``field: reason; field: reason`` (``whole``
    names an error of the value as a whole, which has no field)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}" for err in error.errors()
    )


#: Control characters a terminal acts on: C0 (but newline and tab), DEL and C1.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation, as `cat -v`: ESC is ^[
    if code == 0x7F:
        return "^?"
    return f"\\x{code:02x}"  # C1: CSI (0x9b) and OSC (0x9d) start sequences too


def terminal_safe(text: str) -> str:
    """``text`` with every control character a terminal would act on shown visibly
    instead: C0 controls but newline and tab in caret notation (ESC as ``^[``, so
    ``\\x1b]52;c;...`` becomes ``^[]52;c;...``; a lone carriage return ``^M``; a
    CRLF line end a newline), DEL as ``^?`` and C1 controls as ``\\x9b``.

    Every text from a user, a file or a model goes through it before a front end
    writes it to a terminal (terminal injection: escape sequences that set the
    title, clear the screen or write the clipboard through OSC 52). Each
    character is replaced on its own, so a stream may be made safe piece by piece.
    """
    return _CONTROLS.sub(_visible, text.replace("\r\n", "\n"))


def json_safe(line: str) -> str:
    """A line of JSON made safe for a terminal: DEL and C1 controls (which JSON
    leaves as they are) escaped as ``\\u009b``; JSON escapes C0 controls itself.
    They can only stand inside strings, so the line still decodes to the same value."""
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", line)


def json_line(value: object) -> str:
    """``value`` as one line of JSON (UTF-8 kept, other values as strings), safe for
    a terminal (:func:`json_safe`)."""
    return json_safe(json.dumps(value, ensure_ascii=False, default=str))
