"""The chat's status line (which model answers, what it is doing, when the
memories of the conversation on screen are updated, whether it is private) and
the start-up notice shown above the chat."""

import time
from datetime import datetime

from rich.text import Text
from textual.events import Click
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

THINKING = "thinking…"
"""The reply's state from Enter to its first token."""
WRITING = "writing…"
"""The reply's state from its first token until it is saved."""


def seconds_since(start: float | None, now: float | None = None) -> str:
    """ " 12 s": the whole seconds from ``start`` (``time.monotonic()``) to ``now``;
    "" for ``None``."""
    if start is None:
        return ""
    elapsed = max(0, int((time.monotonic() if now is None else now) - start))
    return f" {elapsed} s"


class StatusBar(Widget):
    """One line, drawn from its reactive attributes (set them; it redraws).

    ``due`` is set every second by the chat screen (read off the event loop), so
    the countdown moves on even when the time stays the same; the screen also
    refreshes the line every second while it counts the seconds of a wait
    (``since``).
    """

    model: reactive[str] = reactive("")
    """The backend and model, "embedded · SmolLM2 (demo quality)"; "" while loading."""
    starting: reactive[str] = reactive("Loading the model")
    """What the start-up waits for while ``model`` is "" ("Opening the memories")."""
    queued: reactive[int] = reactive(0)
    """Messages waiting for the model (sent once it is ready)."""
    problem: reactive[str] = reactive("")
    """Why there is no model (what to do); "" when there is one."""
    incognito: reactive[bool] = reactive(False)
    """The conversation on screen is private: nothing in it is remembered."""
    reply: reactive[str] = reactive("")
    """The reply on its way in this conversation: :data:`THINKING`,
    :data:`WRITING` or ""."""
    since: reactive[float | None] = reactive(None)
    """When the wait shown began (``time.monotonic()``: the start-up, or Enter
    while ``reply`` is thinking); ``None``: no seconds shown."""
    reflecting: reactive[bool] = reactive(False)
    """A reflection on this conversation runs, or was asked for."""
    due: reactive[datetime | None] = reactive(None, always_update=True)
    """When this conversation's reflection is due (aware), or ``None``."""

    def render(self) -> Text:
        """The line: "● label   incognito: nothing remembered   activity"."""
        if self.problem:
            return Text(f"No model: {self.problem}")
        if not self.model:
            line = f"{self.starting}…{seconds_since(self.since)}"
            if self.queued:
                noun = "your message is" if self.queued == 1 else f"{self.queued} messages are"
                line += f"   {noun} sent when the model is ready (Esc takes it back)"
            return Text(line)
        parts = [f"● {self.model}"]
        if self.incognito:
            parts.append("incognito: nothing remembered")
        activity = self._reply() or self._reflection()
        if activity:
            parts.append(activity)
        return Text("   ".join(parts))

    def _reply(self) -> str:
        """ "thinking… 12 s (Esc stops)", "writing… (Esc stops)", or nothing."""
        if not self.reply:
            return ""
        waited = seconds_since(self.since) if self.reply == THINKING else ""
        return f"{self.reply}{waited} (Esc stops)"

    def _reflection(self) -> str:
        """ "updating memories…", "memories update in 9:41", "memories update
        soon", or nothing."""
        if self.reflecting:
            return "updating memories…"
        if self.due is None or self.incognito:
            return ""
        from assistant.scheduler import countdown

        clock = countdown(self.due)
        return f"memories update in {clock}" if clock else "memories update soon"


class StartupNotice(Static):
    """A note above the chat from the start-up (the backend chosen instead of the
    one asked for, memories that are off): it covers nothing, and a click hides it
    (so does the command palette's "Hide the notice")."""

    DEFAULT_CSS = """
    StartupNotice {
        display: none;
        height: auto;
        padding: 0 1;
        background: $warning 15%;
        color: $text;
    }
    StartupNotice.-shown {
        display: block;
    }
    """

    def say(self, lines: list[str]) -> None:
        """Show ``lines`` (plain text, never markup), or hide the notice for none."""
        if lines:
            text = Text("\n".join(lines))
            text.append("  (click to hide)", style="dim")
            self.update(text)
        self.set_class(bool(lines), "-shown")

    @property
    def shown(self) -> bool:
        """Whether the notice is on screen."""
        return self.has_class("-shown")

    def hide(self) -> None:
        """Hide the notice."""
        self.remove_class("-shown")

    def on_click(self, event: Click) -> None:
        event.stop()
        self.hide()
