"""The composition root: the one place that opens the parts of the assistant from
the settings, lazily, and closes them in order.

Each front end (the TUI, every CLI command, the daemon) makes one ``Runtime`` and
asks it for what it needs; nothing else builds stores, models or schedulers. The
idea is the composition root of dependency injection (Seemann, *Dependency
Injection in .NET*, ch. 4): the object graph is composed once, at the entry point.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.conversations import ConversationStore, Thread

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.llm import BackendChoice
    from assistant.llm.gate import ModelGate
    from assistant.memory.consolidation import ConsolidationReport
    from assistant.memory.recall import Recall
    from assistant.memory.repository import Memories
    from assistant.reflection.manager import MemoryManager
    from assistant.scheduler import ReflectionScheduler
    from assistant.session import ChatSession
    from assistant.store.chroma import ChromaStore

log = logging.getLogger(__name__)


class Runtime:
    """The assistant's parts for ``settings``, each opened on first use.

    Thread-safe: the scheduler's jobs and the front end may ask at once. Use it as
    a context manager, or call :meth:`close`.

    Args:
        settings: the user's settings.
        backend_loader: ``settings -> (choice, model)`` instead of probing Ollama and
            loading the model (tests).
        memory_loader: ``settings -> Memories`` instead of opening the store (tests).
        with_memories: ``False``: a run without memories (:attr:`memories` is never
            opened; the front ends check it first).

    Raises:
        AssistantError: from the attribute that failed to open (``StorageError``,
        ``ConfigError``, ``ModelError``, ``EmbedderMismatchError``), with one line
        that says what to do.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        backend_loader: Callable[[Settings], tuple[BackendChoice, BaseChatModel]] | None = None,
        memory_loader: Callable[[Settings], Memories] | None = None,
        with_memories: bool = True,
    ) -> None:
        from assistant.llm.gate import ModelGate

        self.settings = settings
        self.gate: ModelGate = ModelGate()  # replies and reflection share the model
        self._backend_loader = backend_loader
        self._memory_loader = memory_loader
        self.with_memories = with_memories
        # One lock a part, so that opening the memories (the embedder, Chroma) and
        # loading the model (seconds each) neither wait for each other nor hold up
        # the conversations the UI reads meanwhile.
        self._lock = threading.RLock()  # the conversations and the memory manager
        self._memories_lock = threading.RLock()  # the memories and conversation search
        self._model_lock = threading.RLock()
        self._conversations: ConversationStore | None = None
        self._memories: Memories | None = None
        self._choice: BackendChoice | None = None
        self._model: BaseChatModel | None = None
        self._manager: MemoryManager | None = None
        self._closed = False
        self._search_store: ChromaStore | None = None

    # the parts ---------------------------------------------------------------------

    @property
    def conversations(self) -> ConversationStore:
        """The conversation database."""
        with self._lock:
            self._check_open()
            if self._conversations is None:
                from assistant.integrity import expect_conversations, record_conversations

                path = self.settings.database_path
                expect_conversations(path)  # a lost database is refused, not made anew
                self._conversations = ConversationStore(path)
                record_conversations(path)
            return self._conversations

    @property
    def memories(self) -> Memories:
        """The user's memories (the embedder loads with them)."""
        assert self.with_memories, "this runtime has no memories"
        with self._memories_lock:
            self._check_open()
            if self._memories is None:
                if self._memory_loader is not None:
                    self._memories = self._memory_loader(self.settings)
                else:
                    from assistant.memory.factory import open_memories

                    self._memories = open_memories(self.settings)
            return self._memories

    @property
    def memories_opened(self) -> bool:
        """Whether :attr:`memories` has been opened (nothing is opened to tell)."""
        return self._memories is not None

    @property
    def choice(self) -> BackendChoice:
        """The backend chosen for the settings (Ollama is probed; the model is not
        loaded yet, so its notice can be told first)."""
        with self._model_lock:
            if self._choice is None:
                if self._backend_loader is not None:
                    self._choice, self._model = self._backend_loader(self.settings)
                else:
                    from assistant.llm import choose_backend

                    self._choice = choose_backend(self.settings)
            return self._choice

    @property
    def model(self) -> BaseChatModel:
        """The chat model of :attr:`choice`, loaded once (it also reflects)."""
        with self._model_lock:
            choice = self.choice  # a backend_loader gives the model with it
            if self._model is None:
                from assistant.llm import load_chat_model

                self._model = load_chat_model(choice, self.settings)
            return self._model

    def recall(self) -> Recall:
        """Recall over :attr:`memories` with the settings' token budget, and
        conversation search over :attr:`conversations` (in its own store, opened
        once: :func:`assistant.memory.factory.open_search_store`)."""
        from assistant.memory.factory import build_recall, open_search_store

        memories = self.memories
        with self._memories_lock:  # opened beside the memories, not under the UI's lock
            self._check_open()
            if self.settings.conversation_search and self._search_store is None:
                self._search_store = open_search_store(self.settings, memories)
        return build_recall(self.settings, memories, self.conversations, self._search_store)

    def delete_thread(self, thread_id: str) -> None:
        """Delete a conversation, and its messages from conversation search.

        Raises:
            InputError: no such conversation.
            StorageError: the database could not be written.
        """
        thread = self.conversations.get_thread(thread_id)
        self.conversations.delete_thread(thread.id)
        self._unsearchable(thread.id)

    def set_incognito(self, thread_id: str, private: bool) -> Thread:
        """Make a conversation incognito (its messages leave conversation search)
        or not; the thread as it is now.

        Raises:
            InputError: no such conversation.
            StorageError: the database could not be written.
        """
        thread = self.conversations.set_incognito(thread_id, private)
        if private:
            self._unsearchable(thread.id)
        return thread

    def _unsearchable(self, thread_id: str) -> None:
        """Remove a thread's messages from conversation search, when the memories
        are open (recall checks every hit against the database anyway)."""
        if not (self.with_memories and self.memories_opened and self.settings.conversation_search):
            return
        from assistant.errors import AssistantError

        try:
            self.recall().past.forget_thread(thread_id)  # type: ignore[union-attr]
        except AssistantError as exc:
            log.warning("conversation search still holds %s until reindex: %s", thread_id, exc)

    @property
    def manager(self) -> MemoryManager:
        """The memory manager: reflects with the chat model, giving way to replies."""
        from assistant.reflection.manager import MemoryManager

        model, memories, conversations = self.model, self.memories, self.conversations
        with self._lock:  # the parts are taken first: one lock at a time
            if self._manager is None:
                self._manager = MemoryManager(model, memories, conversations, gate=self.gate)
            return self._manager

    def session(self, recall: Recall | None = None) -> ChatSession:
        """A chat session on the model, recalling with ``recall`` (none: no memories)."""
        from assistant.session import ChatSession

        return ChatSession(
            self.conversations, self.model, self.choice, self.settings, recall, gate=self.gate
        )

    def scheduler(
        self,
        reflect: Callable[[str], Any] | None = None,
        consolidate: Callable[[], Any] | None = None,
        on_result: Callable[[str, Any], None] | None = None,
    ) -> ReflectionScheduler:
        """A reflection scheduler on :attr:`conversations` (not started; the caller
        shuts it down). ``reflect`` ``None``: one that only reads the jobs;
        ``consolidate``: the nightly consolidation (:meth:`consolidate`)."""
        from assistant.scheduler import ReflectionScheduler

        def cannot(thread_id: str) -> None:
            raise RuntimeError("this scheduler only reads the jobs")

        settings = self.settings
        return ReflectionScheduler(
            self.conversations,
            reflect or cannot,
            jobstore_url=settings.jobstore,
            lock_path=settings.scheduler_lock_path,
            delay_seconds=settings.reflection_delay_seconds,
            max_wait_seconds=settings.reflection_max_wait_seconds,
            reconcile_seconds=settings.reconcile_interval_seconds,
            retry_seconds=settings.reflection_retry_seconds,
            on_result=on_result,
            consolidate=consolidate,
            consolidation_cron=settings.consolidation_cron,
            job_log=settings.job_log_path,
        )

    def consolidate(self) -> ConsolidationReport:
        """Run the store-wide consolidation now, with the settings' retention period
        (needs the memories, not the model)."""
        from assistant.memory.consolidation import consolidate

        days = self.settings.history_retention_days
        retention = timedelta(days=days) if days is not None else None
        return consolidate(self.memories, retention=retention)

    # closing -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this runtime is closed")

    def close(self) -> None:
        """Close what was opened, the memories before the conversations. (A caller
        that leaves a reflection running to the process's end closes nothing.) A
        closed runtime opens nothing again."""
        with self._memories_lock, self._lock:  # a store being opened is closed once open
            self._closed = True
            self._manager = None
            search, self._search_store = self._search_store, None
            if search is not None and (
                self._memories is None or search is not self._memories.store
            ):
                search.close()  # its own directory (embedded); else the memory store
            if self._memories is not None:
                self._memories.close()
                self._memories = None
            if self._conversations is not None:
                self._conversations.close()
                self._conversations = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
