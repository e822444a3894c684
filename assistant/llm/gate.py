"""The chat has priority over the one model: background calls give way to replies.

There is one chat model per process (llama.cpp runs one generation at a time;
a small Ollama server is no better off with two). A reply holds
:meth:`ModelGate.chat` while it streams; background work (reflection) calls
:meth:`ModelGate.wait_for_quiet` before each model call and
:meth:`ModelGate.check` between streamed tokens, which raises :class:`Preempted`
as soon as a reply starts. The background call is dropped (its generation stops
after the token in progress, which frees llama.cpp for the reply) and the work
runs again later: a reflection writes nothing before its model calls are done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Preempted(Exception):
    """A background model call stopped because a reply started (or the app quits)."""


class ModelGate:
    """Counts replies in progress; thread-safe; one per chat model."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._chats = 0
        self._closed = False

    @property
    def busy(self) -> bool:
        """Whether background work must give way now (a reply streams, or closing)."""
        return self._chats > 0 or self._closed

    @contextmanager
    def chat(self) -> Iterator[None]:
        """Hold while a reply is generated: background calls stop at their next token.

        Never blocks, so it is safe on an event loop.
        """
        with self._changed:
            self._chats += 1
        try:
            yield
        finally:
            with self._changed:
                self._chats -= 1
                self._changed.notify_all()

    def wait_for_quiet(self) -> None:
        """Block until no reply is being generated.

        Raises:
            Preempted: the gate was closed (before or while waiting).
        """
        with self._changed:
            self._changed.wait_for(lambda: self._chats == 0 or self._closed)
            if self._closed:
                raise Preempted("the app is closing")

    def check(self) -> None:
        """Between the tokens of a background call.

        Raises:
            Preempted: a reply started, or the gate was closed.
        """
        if self.busy:
            raise Preempted("the app is closing" if self._closed else "a reply started")

    def close(self) -> None:
        """Stop background calls for good (the app quits); replies are unaffected."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
