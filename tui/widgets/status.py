"""The chat's status line: which model answers, what it is doing, when the
conversation on screen is reflected on, and whether it is private."""

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StatusBar(Widget):
    """One line, drawn from its reactive attributes (set them; it redraws).

    ``due`` is set every second by the chat screen (read off the event loop), so
    the countdown moves on even when the time stays the same.
    """

    model: reactive[str] = reactive("")
    """The backend and model, "embedded · SmolLM2 (demo quality)"; "" while loading."""
    problem: reactive[str] = reactive("")
    """Why there is no model (what to do); "" when there is one."""
    incognito: reactive[bool] = reactive(False)
    """The conversation on screen is private: nothing in it is remembered."""
    reply: reactive[str] = reactive("")
    """The reply on its way in this conversation: "thinking…", "writing…" or ""."""
    reflecting: reactive[bool] = reactive(False)
    """A reflection on this conversation runs, or was asked for."""
    due: reactive[datetime | None] = reactive(None, always_update=True)
    """When this conversation's reflection is due (aware), or ``None``."""

    def render(self) -> Text:
        """The line: "● label   incognito: nothing remembered   activity"."""
        if self.problem:
            return Text(f"No model: {self.problem}")
        if not self.model:
            return Text("Loading the model…")
        parts = [f"● {self.model}"]
        if self.incognito:
            parts.append("incognito: nothing remembered")
        activity = self.reply or self._reflection()
        if activity:
            parts.append(activity)
        return Text("   ".join(parts))

    def _reflection(self) -> str:
        """ "reflecting…", "reflection in 9:41", "reflection due", or nothing."""
        if self.reflecting:
            return "reflecting…"
        if self.due is None or self.incognito:
            return ""
        from assistant.scheduler import countdown

        clock = countdown(self.due)
        return f"reflection in {clock}" if clock else "reflection due"
