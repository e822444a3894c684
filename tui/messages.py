"""App-wide messages: posted by workers, handled by the app."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

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
