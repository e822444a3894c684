"""The chat's status line and start-up notice: the model loading (with its
seconds), the reply's state ("thinking… 12 s" from Enter to the first token,
then "writing…"), the memories' next update, and the note of the start-up.

A mixin of :class:`tui.screens.chat.ChatScreen`. The line is drawn from the
screen's state by :meth:`ChatStatus._show_state`, so the refresh every second
(:meth:`ChatStatus._tick`) never overwrites the reply's state.
"""

import time
from datetime import datetime

from textual import work

from tui.screens.chat_parts import ChatParts
from tui.widgets.status import THINKING, WRITING, StartupNotice, StatusBar


class ChatStatus(ChatParts):
    """What the status line and the notice above the chat say."""

    @property
    def status_bar(self) -> StatusBar:
        """The status line above the chat."""
        return self.query_one(StatusBar)

    @property
    def notice(self) -> StartupNotice:
        """The start-up's note above the chat (hidden when there is none)."""
        return self.query_one(StartupNotice)

    def _start_clock(self) -> None:
        """At mount: the start-up's seconds count from now."""
        self.status_bar.since = time.monotonic()

    def still_loading(self, what: str) -> None:
        """The start-up now waits for ``what`` ("Opening the memories")."""
        self.status_bar.starting = what

    def backend_ready(self, label: str) -> None:
        """The model ``label`` answers: the messages waiting for it are sent."""
        bar = self.status_bar
        bar.model, bar.since = label, None
        self._show_state()
        self.send_waiting()

    def backend_failed(self, error: str) -> None:
        """No chat model: say why in the status line; the messages waiting for
        it go back to the box."""
        self.status_bar.problem = error
        self.take_back_waiting(f"Not sent: {error}")

    def add_notice(self, text: str) -> None:
        """Show ``text`` (plain) above the chat, under what it already says."""
        self._notice_lines.append(text)
        self.notice.say(self._notice_lines)

    def hide_notice(self) -> None:
        """Hide the note above the chat."""
        self._notice_lines.clear()
        self.notice.say([])

    def _show_state(self) -> None:
        """What the status line says of the conversation on screen: private, a
        reply on its way (with the seconds it has waited for its first token), a
        reflection running (the countdown is set apart)."""
        bar = self.status_bar
        bar.incognito = self.incognito
        turn = self._turn
        replying = turn is not None and turn.thread_id == self.thread_id
        thinking = replying and turn is not None and not turn.started
        bar.reply = (THINKING if thinking else WRITING) if replying else ""
        if bar.model:  # while loading, the seconds are the start-up's
            bar.since = turn.sent_at if thinking and turn is not None else None
        scheduler = self.assistant.scheduler
        running = scheduler.running if scheduler is not None else None
        here = self.thread_id
        on_screen = here is not None and (here in self.assistant.asked or running == here)
        bar.reflecting = self._reflecting or on_screen

    def _tick(self) -> None:
        """Every second: the seconds of a wait, and the countdown to the on-screen
        thread's reflection."""
        if self.status_bar.since is not None:
            self.status_bar.refresh()
        if self.assistant.scheduler is not None:
            self.read_due(self.thread_id)

    @work(
        thread=True, exit_on_error=False, group="scheduling", name="Reading the reflection's time"
    )
    def read_due(self, thread_id: str | None) -> None:
        """The job store and the database are read off the event loop."""
        scheduler = self.assistant.scheduler
        assert scheduler is not None
        due = scheduler.due(thread_id) if thread_id else None
        self.app.call_from_thread(self._show_due, thread_id, due)

    def _show_due(self, thread_id: str | None, due: datetime | None) -> None:
        if thread_id == self.thread_id:
            self._show_state()
            self.status_bar.due = due

    @work(thread=True, exit_on_error=False, group="scheduling", name="Scheduling the reflection")
    def schedule_reflection(self, thread_id: str) -> None:
        """After a reply: (re)schedule the thread's reflection (debounce)."""
        scheduler = self.assistant.scheduler
        assert scheduler is not None
        due = scheduler.submit(thread_id)
        self.app.call_from_thread(self._show_due, thread_id, due)
