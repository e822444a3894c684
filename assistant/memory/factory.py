"""Open the memory store and the user's memories from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langgraph.store.base import IndexConfig

from assistant.store.chroma import ChromaStore

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.memory.recall import Recall
    from assistant.memory.repository import Memories


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
    from assistant.memory.repository import Memories

    return Memories(open_store(settings), memory_namespace(settings))


def build_recall(settings: Settings, memories: Memories) -> Recall:
    """Recall over ``memories`` with the settings' token budget."""
    from assistant.memory.recall import Recall

    return Recall(memories, budget_tokens=settings.recall_budget_tokens)
