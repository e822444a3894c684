"""How the core's values are written for people, in one place: times in local
time, and a pydantic validation error as one line."""

from __future__ import annotations

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
