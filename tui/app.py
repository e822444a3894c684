"""The assistant TUI: the app holds the runtime's parts and the screens.

The app loads the model and the memories in a thread worker at start-up, starts
background reflection (:mod:`assistant.scheduler`) once both are there, and
shuts it down on quit without waiting for a reflection in progress. The chat
(:class:`tui.screens.chat.ChatScreen`) is its first screen; the memory pane
(:class:`tui.screens.memories.MemoryScreen`) is pushed over it. Replies hold the
model gate, so a reflection gives way to them.
"""

import logging
import threading
from collections.abc import Iterable
from contextlib import suppress
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from assistant.errors import AssistantError
from assistant.runtime import Runtime
from tui.messages import BackendReady, ReflectionDone
from tui.screens.chat import ChatScreen
from tui.screens.memories import MemoryScreen, OpenSource
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.memory.repository import Memories
    from assistant.reflection.journal import ReflectionResult
    from assistant.reflection.manager import MemoryManager
    from assistant.scheduler import ReflectionScheduler
    from assistant.session import ChatSession

log = logging.getLogger(__name__)


class AssistantApp(App[None]):
    """Chat with a local model; conversations persist in the runtime's database.

    Args:
        runtime: the assistant's parts (:class:`assistant.runtime.Runtime`; tests
            give it fake loaders, or ``with_memories=False``).
    """

    CSS_PATH = "app.tcss"
    TITLE = "assistant"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, runtime: Runtime) -> None:
        """The app on ``runtime``'s parts (it opens the model and the memories in a
        worker; the caller closes the runtime once the app has ended)."""
        super().__init__()
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = runtime.conversations
        self.session: ChatSession | None = None  # set once the model is loaded
        self.backend_error: str | None = None
        self.memories: Memories | None = None  # set once the store is open
        self.memory_error: str | None = None
        self.manager: MemoryManager | None = None  # reflects with the chat model
        self.scheduler: ReflectionScheduler | None = None  # background reflection
        self.left_running = False  # a reflection was still running at quit
        self.asked: set[str] = set()  # threads whose reflection the user asked for
        self._quitting = False  # set on the UI thread at unmount, read by the loader
        self._starting = threading.Lock()  # the scheduler starts, or the app quits
        self.chat = ChatScreen()

    def get_default_screen(self) -> Screen:
        """The chat is the first screen, under every other."""
        return self.chat

    def on_mount(self) -> None:
        self.call_after_refresh(self.load_model)

    def on_unmount(self) -> None:
        """Quit at once: a reflection in progress stops at its next token or is
        left to end with the process; pending jobs stay in the job store."""
        with self._starting:  # a scheduler starting now is shut down; none starts later
            self._quitting = True
        if self.session is not None:
            self.session.gate.close()
        if self.scheduler is not None:
            self.left_running = self.scheduler.shutdown()

    # The model -------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="backend", name="Loading the model")
    def load_model(self) -> None:
        """Load the model, then the memories and the scheduler (blocking: Ollama is
        probed, llama.cpp reads the file, Chroma and the embedder open); a failure
        ends in :meth:`_worker_changed`."""
        runtime = self.runtime
        runtime.model  # noqa: B018 (loads it)
        if self._quitting:  # quit while the model loaded: start nothing more
            return
        recall = None
        if runtime.with_memories:
            try:
                self.memories = runtime.memories
                recall = runtime.recall()
            except AssistantError as exc:
                self.memory_error = str(exc)
                log.warning("memories are off: %s", exc)
        session = runtime.session(recall)
        if self.memories is not None:
            self._start_scheduler(session)
        self.post_message(BackendReady(session))
        if self.memories is not None:
            self._warm_up(self.memories)
        if recall is not None:
            with suppress(AssistantError):  # the next turns catch up, a few at a time
                recall.index_new()  # what an import, a crash or another process left

    @staticmethod
    def _warm_up(memories: "Memories") -> None:
        """Read one memory of each kind, so that the first recall and the memory
        pane's first page do not wait for Chroma to load its segments."""
        from assistant.memory.schemas import KINDS

        with suppress(AssistantError):
            for kind in KINDS:
                memories.listing(kind, limit=1)

    def _start_scheduler(self, session: "ChatSession") -> None:
        """Background reflection with the chat model (in the loading worker thread)."""
        assert self.memories is not None
        runtime = self.runtime
        self.manager = runtime.manager  # the session's model and gate
        scheduler = runtime.scheduler(self.manager.reflect, runtime.consolidate, self.reflected)
        with self._starting:
            if self._quitting:  # on_unmount has run: it would never shut this one down
                return
            try:
                owner = scheduler.start()
            except AssistantError as exc:
                owner, problem = False, exc
            else:
                problem = None
                self.scheduler = scheduler
        if problem is not None:  # told outside the lock, which the UI thread may wait on
            log.warning("background reflection is off: %s", problem)
            self.call_from_thread(
                self.notify, f"{problem} Use /reflect.", title="No background reflection"
            )
            return
        if not owner:
            self.call_from_thread(
                self.notify,
                "Another assistant (a window or `assistant daemon`) reflects in the "
                "background for this data; this one leaves it to that one.",
                title="Background reflection",
            )

    def reflected(self, thread_id: str, result: "ReflectionResult | Exception") -> None:
        """The scheduler's ``on_result`` (any thread): hand over to the chat screen,
        whose :class:`ReflectionDone` then bubbles up here."""
        asked = thread_id in self.asked
        self.asked.discard(thread_id)
        self.chat.post_message(ReflectionDone(thread_id, result, asked))

    @on(BackendReady)
    def _backend_ready(self, event: BackendReady) -> None:
        self.session = event.session
        choice = event.session.choice
        quality = " (demo quality)" if choice.demo_quality else ""
        self.chat.backend_ready(f"{choice.label}{quality}")
        if choice.notice:
            title = "Using the embedded model" if choice.backend == "local" else "Ollama"
            self.notify(choice.notice, title=title, severity="warning", timeout=20)
        if self.memory_error:
            self.notify(self.memory_error, title="Memories are off", severity="warning", timeout=20)
        log.info("backend %s (%s)", choice.label, choice.reason)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The model could not be loaded: told, and said in the status line."""
        if (problem := tell_failure(event)) is not None:
            self.backend_error = problem
            self.chat.backend_failed(problem)

    @on(ReflectionDone)
    def _reflection_done(self, event: ReflectionDone) -> None:
        """After the chat told it: show what a reflection wrote in the memory pane."""
        from assistant.reflection.journal import ReflectionResult

        result = event.result
        written = [c.key for c in result.changes] if isinstance(result, ReflectionResult) else []
        for screen in self.screen_stack:
            if isinstance(screen, MemoryScreen) and written:
                screen.refresh_keys(written)

    @on(OpenSource)
    async def _open_source(self, event: OpenSource) -> None:
        """From the pane: the conversation a memory came from, at its message."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.chat.show_message(event.thread_id, event.message_id)

    # Command palette -------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, ChatScreen):
            return
        yield SystemCommand(
            "New conversation", "Start a new conversation", screen.action_new_thread
        )
        yield SystemCommand("Rename conversation", "Rename this one", screen.action_rename_thread)
        yield SystemCommand(
            "Delete conversation", "Delete this one (asks first)", screen.action_delete_thread
        )
        yield SystemCommand("Stop reply", "Stop the reply being written", screen.action_stop_reply)
        yield SystemCommand(
            "Incognito", "Make this conversation private, or not", screen.action_toggle_incognito
        )
        yield SystemCommand("Reflect", "Reflect on this conversation now", screen.action_reflect)
        yield SystemCommand(
            "Memories", "Browse, search and edit what is remembered", screen.action_memories
        )
        yield SystemCommand("Backend", "Which model answers, and why", self._show_backend)

    def _show_backend(self) -> None:
        if self.session is None:
            self.notify("The model is still loading.")
            return
        choice = self.session.choice
        self.notify(f"{choice.label}: {choice.reason}.\n{choice.notice or ''}".strip())
