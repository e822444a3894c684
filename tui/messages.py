"""App-wide messages, posted by workers and the scheduler's thread."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from assistant.reflection.journal import ReflectionResult
    from assistant.session import ChatSession


class ModelLoaded(Message):
    """The chat model is loaded (the memories may still be opening)."""


class MemoriesOpened(Message):
    """The memory store and recall are open, or failed to open (the app's
    ``memory_error`` says why); the memory pane works from now on."""


@dataclass
class BackendReady(Message):
    """The model and the memories are there; replies can be sent."""

    session: "ChatSession"


@dataclass
class ReflectionDone(Message):
    """A reflection ended (in the scheduler's worker thread, or the chat's):
    ``result`` is its :class:`ReflectionResult`, or the exception that ended it
    (``Preempted``: it gave way to a reply and runs again later)."""

    thread_id: str
    result: "ReflectionResult | Exception"
    asked: bool = False
