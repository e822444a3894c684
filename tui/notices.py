"""Notices that quote text from users, files or models (issue 18, items 1 and 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from assistant.formats import terminal_safe

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel


class Notifies(Protocol):
    """What has Textual's ``notify``: a widget, a screen, the app."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...


def notify_plain(
    node: Notifies,
    message: str,
    *,
    title: str = "",
    severity: SeverityLevel = "information",
    timeout: float | None = None,
) -> None:
    """``node.notify`` for a notice that quotes text from a user, a file or a
    model (a memory, a title, what was typed): shown as it is, never read as
    markup (``[/x]`` would end the app, ``[@click=app.quit]`` would act), and
    with the control characters a terminal acts on made visible (``^[``)."""
    node.notify(
        terminal_safe(message),
        title=terminal_safe(title),
        severity=severity,
        timeout=timeout,
        markup=False,
    )
