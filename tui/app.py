"""The assistant TUI: the app holds the runtime's parts and the screens.

At start-up the app loads the model and opens the memories in two thread
workers, side by side (the memory pane works while the model loads), starts
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
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from assistant.errors import AssistantError
from assistant.runtime import Runtime
from tui.messages import BackendReady, MemoriesOpened, ModelLoaded, ReflectionDone
from tui.screens.chat import ChatScreen
from tui.screens.memories import MemoryScreen, OpenSource
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.llm import BackendChoice
    from assistant.memory.recall import Recall
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
        config_file: the config file the settings were read from (``--config``),
            named where the app says how to change a setting; default
            :func:`assistant.paths.default_config_file`.
    """

    CSS_PATH = "app.tcss"
    TITLE = "assistant"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, runtime: Runtime, config_file: Path | None = None) -> None:
        """The app on ``runtime``'s parts (it opens the model and the memories in
        workers; the caller closes the runtime once the app has ended)."""
        super().__init__()
        self.runtime = runtime
        self.settings = runtime.settings
        self.config_file = config_file
        self.store = runtime.conversations
        self.session: ChatSession | None = None  # set once the model and memories are
        self.backend_error: str | None = None
        self.memories: Memories | None = None  # set once the store is open
        self.recall: Recall | None = None  # recall over them, with conversation search
        self.memory_error: str | None = None
        self._model_done = False  # the model is loaded (on the UI thread)
        self._memories_done = False  # the memories are open, or off
        self.manager: MemoryManager | None = None  # reflects with the chat model
        self.scheduler: ReflectionScheduler | None = None  # background reflection
        self.left_running = False  # a reflection was still running at quit
        self.asked: set[str] = set()  # threads whose reflection the user asked for
        self._quitting = False  # set on the UI thread at unmount, read by the loaders
        self._starting = threading.Lock()  # the scheduler starts, or the app quits
        self.chat = ChatScreen()

    def get_default_screen(self) -> Screen:
        """The chat is the first screen, under every other."""
        return self.chat

    def on_mount(self) -> None:
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        """The model and the memories open side by side (each in a thread worker):
        the conversations and the memory pane work while the model loads."""
        self.load_model()
        if self.runtime.with_memories:
            self.open_memories()
        else:
            self._memories_done = True

    def on_unmount(self) -> None:
        """Quit at once: a reflection in progress stops at its next token or is
        left to end with the process; pending jobs stay in the job store."""
        with self._starting:  # a scheduler starting now is shut down; none starts later
            self._quitting = True
        if self.session is not None:
            self.session.gate.close()
        if self.scheduler is not None:
            self.left_running = self.scheduler.shutdown()

    async def on_event(self, event: events.Event) -> None:
        """Typing that would reach no text box on the chat goes to its message box
        (:meth:`ChatScreen.steer_typing`), before the key is routed."""
        typing = isinstance(event, events.Key | events.Paste) and not event.is_forwarded
        if typing and self.screen is self.chat:
            self.chat.steer_typing(event)  # type: ignore[arg-type]
        await super().on_event(event)

    # Start-up ----------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="backend", name="Loading the model")
    def load_model(self) -> None:
        """Load the model (blocking: Ollama is probed, llama.cpp reads the file); a
        failure ends in :meth:`_worker_changed`."""
        self.runtime.model  # noqa: B018 (loads it)
        if not self._quitting:  # quit while the model loaded: start nothing more
            self.post_message(ModelLoaded())

    @work(thread=True, exit_on_error=False, group="memories", name="Opening the memories")
    def open_memories(self) -> None:
        """Open the memory store and recall (blocking: Chroma and the embedder);
        a store that cannot be opened turns the memories off, not the app."""
        runtime = self.runtime
        if self._quitting:
            return
        try:
            memories = runtime.memories
            self.recall = runtime.recall()
        except AssistantError as exc:
            self.memory_error = str(exc)
            log.warning("memories are off: %s", exc)
        else:
            self.memories = memories
        if not self._quitting:
            self.post_message(MemoriesOpened())

    @work(thread=True, exit_on_error=False, group="memories", name="Reading the memories")
    def catch_up(self, memories: "Memories", recall: "Recall | None") -> None:
        """Read one memory of each kind, so that the first recall and the memory
        pane's first page do not wait for Chroma to load its segments; then index
        for conversation search what an import, a crash or another process left."""
        from assistant.memory.schemas import KINDS

        with suppress(AssistantError):
            for kind in KINDS:
                memories.listing(kind, limit=1)
        if recall is not None and not self._quitting:
            with suppress(AssistantError):  # the next turns catch up, a few at a time
                recall.index_new()

    @on(ModelLoaded)
    def _model_loaded(self) -> None:
        self._model_done = True
        if not self._memories_done:
            self.chat.still_loading("Opening the memories")
        self._both_there()

    @on(MemoriesOpened)
    def _memories_opened(self) -> None:
        self._memories_done = True
        if self.memories is not None:
            self.catch_up(self.memories, self.recall)
        elif self.memory_error:
            self.chat.add_notice(f"Memories are off: {self.memory_error}")
        self._both_there()

    def _both_there(self) -> None:
        if self._model_done and self._memories_done:
            self.start_session()

    @work(thread=True, exit_on_error=False, group="backend", name="Starting the chat")
    def start_session(self) -> None:
        """The session on the model and the memories, then background reflection
        (the job store is opened: blocking)."""
        session = self.runtime.session(self.recall)
        if self.memories is not None:
            self._start_scheduler()
        self.post_message(BackendReady(session))

    def _start_scheduler(self) -> None:
        """Background reflection with the chat model (in a worker thread)."""
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
        if notice := backend_notice(choice, self.config_file):
            self.chat.add_notice(notice)
        self.chat.backend_ready(f"{choice.label}{quality}")
        log.info("backend %s (%s)", choice.label, choice.reason)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """A start-up worker failed: without the model, said in the status line
        (the messages waiting for it go back to the box); without the memories,
        the chat goes on without them."""
        if (problem := tell_failure(event)) is None:
            return
        if event.worker.group == "memories" and not self._memories_done:
            self.memory_error = problem
            self._memories_opened()
        elif event.worker.group == "backend":
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
        yield SystemCommand("Hide the notice", "Hide the note above the chat", self._hide_notice)

    def _hide_notice(self) -> None:
        self.chat.hide_notice()

    def _show_backend(self) -> None:
        if self.session is None:
            self.notify("The model is still loading.")
            return
        choice = self.session.choice
        self.notify(f"{choice.label}: {choice.reason}.\n{choice.notice or ''}".strip())


def backend_notice(choice: "BackendChoice", config_file: Path | None = None) -> str | None:
    """The backend's note for the chat (a fallback, a missing Ollama model), with
    the file (``config_file``, default the user's) and key that change the
    backend; ``None`` when there is none."""
    if not choice.notice:
        return None
    from assistant.paths import default_config_file

    title = "Using the embedded model" if choice.backend == "local" else "Ollama"
    config = str(config_file or default_config_file())
    said = choice.notice.rstrip()
    if config in said:
        return f"{title}: {said}"
    said += "" if said.endswith((".", "!", "?")) else "."
    change = f'To change the backend, set backend = "auto", "ollama" or "local" in {config}.'
    return f"{title}: {said} {change}"
