"""Build the memory store from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from langgraph.store.base import IndexConfig

from assistant.memory.store import ChromaStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.config import Settings
    from assistant.conversations import ConversationStore
    from assistant.llm.gate import ModelGate
    from assistant.memory.consolidation import ConsolidationReport
    from assistant.memory.memories import Memories
    from assistant.memory.recall import Recall
    from assistant.memory.reflection import MemoryManager
    from assistant.scheduler import ReflectionScheduler


def open_store(settings: Settings, *, check_embedder: bool = True) -> ChromaStore:
    """The memory store the settings describe, with the configured embedder.

    Embedded Chroma in ``settings.memory_path``, or the server at
    ``settings.chroma_url``; the ``text`` field of values is embedded.

    Raises:
        EmbedderMismatchError: the store was built with another embedder.
        StorageError: the store cannot be opened.
        ConfigError: an unknown embedder.
    """
    from assistant.embeddings import load_embedder

    embedder: Any = load_embedder(settings)  # MiniLM or Ollama: both have name and dims
    index: IndexConfig = {"dims": embedder.dims, "embed": embedder, "fields": ["text"]}
    options = {"embedder_name": embedder.name, "check_embedder": check_embedder}
    if settings.chroma_url:
        return ChromaStore.server(settings.chroma_url, index=index, **options)
    return ChromaStore.persistent(settings.memory_path, index=index, **options)


def memory_namespace(settings: Settings) -> tuple[str, ...]:
    """``settings.memory_namespace`` with ``{user_id}`` filled in."""
    return fill_namespace(settings.memory_namespace, user_id=settings.user_id)


def fill_namespace(template: tuple[str, ...], **values: str) -> tuple[str, ...]:
    """Fill a namespace template such as ``("memories", "{user_id}")``.

    Raises:
        KeyError: a placeholder without a value.
        InvalidNamespaceError: a filled label is empty or holds a ".".
    """
    from langgraph.store.base import InvalidNamespaceError

    namespace = tuple(label.format(**values) for label in template)
    for label in namespace:
        if not label or "." in label:
            raise InvalidNamespaceError(
                f"Namespace label {label!r} (from {template}) must be non-empty and without '.'"
            )
    return namespace


def open_memories(settings: Settings) -> Memories:
    """The user's memories in the store the settings describe.

    Raises:
        EmbedderMismatchError, StorageError, ConfigError: as :func:`open_store`.
    """
    from assistant.memory.memories import Memories

    return Memories(open_store(settings), memory_namespace(settings))


def build_recall(settings: Settings, memories: Memories) -> Recall:
    """Recall over ``memories`` with the settings' token budget."""
    from assistant.memory.recall import Recall

    return Recall(memories, budget_tokens=settings.recall_budget_tokens)


def build_memory_manager(
    model: BaseChatModel,
    memories: Memories,
    conversations: ConversationStore,
    gate: ModelGate | None = None,
) -> MemoryManager:
    """The memory manager that reflects with ``model`` on threads of ``conversations``
    (giving way to replies through ``gate``, if given)."""
    from assistant.memory.reflection import MemoryManager

    return MemoryManager(model, memories, conversations, gate=gate)


def build_consolidation(
    settings: Settings, memories: Memories
) -> Callable[[], ConsolidationReport]:
    """The store-wide consolidation with the settings' retention period."""
    from assistant.memory.consolidation import consolidate

    days = settings.history_retention_days
    retention = timedelta(days=days) if days is not None else None
    return lambda: consolidate(memories, retention=retention)


def build_scheduler(
    settings: Settings,
    conversations: ConversationStore,
    reflect: Callable[[str], Any] | None = None,
    consolidate: Callable[[], Any] | None = None,
    on_result: Callable[[str, Any], None] | None = None,
) -> ReflectionScheduler:
    """The reflection scheduler the settings describe (not started).

    Args:
        reflect: reflects on a thread (``MemoryManager.reflect``); ``None`` for a
            scheduler that only reads (``assistant jobs``).
        consolidate: the nightly consolidation (:func:`build_consolidation`).
    """
    from assistant.scheduler import ReflectionScheduler

    def cannot(thread_id: str) -> None:
        raise RuntimeError("this scheduler only reads the jobs")

    return ReflectionScheduler(
        conversations,
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
