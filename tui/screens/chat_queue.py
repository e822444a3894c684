"""Messages on their way: the turn being sent, and the messages sent before the
model was ready, which wait in the log ("waiting for the model…") and are sent
in order once it is.

Nothing typed is lost: a waiting message goes back into the box when the model
cannot be loaded, when Esc takes it back or another conversation is opened, and
a message whose saving failed (a full disk) stays in the box, with the reason.
A mixin of :class:`tui.screens.chat.ChatScreen`.
"""

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.errors import AssistantError
from tui.screens.chat_parts import ChatParts
from tui.widgets.chat import ChatLog, Composer, MessageView

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

WAITING_NOTE = "waiting for the model… (Esc takes it back)"


@dataclass
class Waiting:
    """A message sent before the model was ready: its text and its view in the log."""

    text: str
    view: MessageView


@dataclass
class Turn:
    """The message being sent and its reply.

    Attributes:
        thread_id: the conversation.
        text: the message, as checked.
        typed: what to take from the box once the message is saved; ``None`` for
            a waiting message (already out of the box).
        waiting: the waiting message's view, replaced once the message is saved.
        sent_at: when it was sent (``time.monotonic()``): "thinking… 12 s".
        saved: the message is in the database.
        given_back: it was not, and its text is (back) in the box.
        started: the reply has its first token.
        reply: the reply's view, once the message is saved.
    """

    thread_id: str
    text: str
    typed: str | None = None
    waiting: MessageView | None = None
    sent_at: float = field(default_factory=time.monotonic)
    saved: bool = False
    given_back: bool = False
    started: bool = False
    reply: MessageView | None = None


class WaitingMessages(ChatParts):
    """The queue of messages sent while the model loads, and what happens to a
    message that could not be saved."""

    @property
    def composer(self) -> Composer:
        """The message box."""
        return self.query_one(Composer)

    async def queue_message(self, typed: str, text: str) -> None:
        """Take ``typed`` out of the box and show it in the log as waiting; it is
        sent once the model is ready. An empty or too long message is refused
        now, and stays in the box."""
        from assistant.session import check_message

        try:
            text = check_message(text, self.assistant.settings.max_message_chars)
        except AssistantError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        view = await self.query_one(ChatLog).add(
            MessageView("user", text, note=WAITING_NOTE, note_kind="stopped")
        )
        self.composer.take(typed)
        self._waiting.append(Waiting(text, view))
        self.status_bar.queued = len(self._waiting)

    def send_waiting(self) -> None:
        """Send the first waiting message, if the model is ready and no reply is
        being written (called again when each reply ends)."""
        if not self._waiting or self._replying or self.assistant.session is None:
            return
        waiting = self._waiting.pop(0)
        self.status_bar.queued = len(self._waiting)
        if not self.start_turn(waiting.text, typed=None, waiting=waiting.view):
            self.take_back_waiting("Not sent.", first=[waiting.text])
            waiting.view.remove()

    def take_back_waiting(
        self,
        reason: str,
        first: list[str] | None = None,
        severity: "SeverityLevel" = "warning",
    ) -> None:
        """Put the waiting messages (after ``first``, texts out of the box too)
        back into the box, in order, before what it holds, and say ``reason``."""
        texts = [*(first or []), *(w.text for w in self._waiting)]
        for waiting in self._waiting:
            waiting.view.remove()
        self._waiting.clear()
        self.status_bar.queued = 0
        if not texts:
            return
        box = self.composer
        if box.text:
            texts.append(box.text)
        box.load_text("\n".join(texts))
        box.move_cursor(box.document.end)
        back = "Your message is" if len(texts) == 1 else "Your messages are"
        self.notify(f"{reason} {back} back in the box.", severity=severity, markup=False)

    def give_back(self, turn: Turn, reason: str, severity: "SeverityLevel" = "warning") -> None:
        """``turn``'s message was not saved (``reason``): its text stays in the box,
        or goes back there with the waiting messages after it."""
        turn.given_back = True
        if turn.typed is not None:  # still in the box: it was never taken out
            self.notify(f"{reason} Your message stays in the box.", severity=severity, markup=False)
            return
        if turn.waiting is not None:
            turn.waiting.remove()
        self.take_back_waiting(reason, first=[turn.text], severity=severity)
