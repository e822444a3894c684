"""App-wide messages: posted by workers, handled by the app; and how a
worker's failure is told."""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker, WorkerState

from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.session import ChatSession


@dataclass
class BackendReady(Message):
    """The chat model is loaded; replies can be sent."""

    session: "ChatSession"


@dataclass
class BackendFailed(Message):
    """No chat model could be loaded; ``error`` says why and what to do."""

    error: str


@dataclass
class ReflectionDone(Message):
    """A reflection ended (in the scheduler's worker thread): ``result`` is its
    ``ReflectionResult``, or the exception that ended it (``Preempted``: it gave
    way to a reply and runs again later)."""

    thread_id: str
    result: object
    asked: bool = False


def tell_failure(event: Worker.StateChanged) -> None:
    """Notify a worker's failure on the screen that ran it: an ``AssistantError``
    says what happened and what to do; anything else is logged with its traceback."""
    if event.state != WorkerState.ERROR:
        return
    error = event.worker.error
    if isinstance(error, AssistantError):
        message = str(error)
    else:
        logging.getLogger(__name__).error("%s failed", event.worker.name, exc_info=error)
        message = f"Unexpected error: {error!r}. Details are in the log."
    event.worker.node.notify(message, title="Memories", severity="error", timeout=15)
