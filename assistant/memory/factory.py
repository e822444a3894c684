"""Open the memory store and the user's memories from the settings."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langgraph.store.base import IndexConfig

from assistant.store.chroma import ChromaStore

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.conversations import ConversationStore
    from assistant.memory.recall import Recall
    from assistant.memory.repository import Memories

log = logging.getLogger(__name__)

#: The fields of a value that are embedded: a memory's ``text``, and the
#: ``content.content`` of a memory LangMem's tools wrote (docs/sharing.md).
EMBEDDED_FIELDS = ["text", "content.content"]


def open_store(settings: Settings, *, check_embedder: bool = True) -> ChromaStore:
    """The memory store the settings describe, with the configured embedder.

    Embedded Chroma in ``settings.memory_path``, or the server at
    ``settings.chroma_url``; the :data:`EMBEDDED_FIELDS` of values are embedded.

    Raises:
        EmbedderMismatchError: the store was built with another embedder.
        StorageError: the store cannot be opened.
        ConfigError: an unknown embedder.
    """
    from assistant.embeddings import load_embedder

    embedder: Any = load_embedder(settings)  # MiniLM or Ollama: both have name and dims
    index: IndexConfig = {"dims": embedder.dims, "embed": embedder, "fields": EMBEDDED_FIELDS}
    # Both embedders embed a query as a document (MiniLM is symmetric; langchain-
    # ollama's embed_query is embed_documents of one text): queries go in batches.
    options = {"embedder_name": embedder.name, "check_embedder": check_embedder, "symmetric": True}
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


def open_search_store(settings: Settings, memories: Memories) -> ChromaStore:
    """The store of conversation search, embedding with the memories' embedder.

    On a Chroma server it is the memory store itself. Embedded, it has its own
    directory, ``<data_dir>/conversation-search``: it is written at every turn,
    and in the memory store that would change the store's change token each time
    and cost recall its cache of pinned memories and rules (at 10,000 memories,
    half a second a turn). It holds only what the conversations give, so one
    built with another embedder, or damaged, is emptied and built again.

    Raises:
        StorageError: the directory cannot be used.
    """
    import shutil

    from assistant.errors import StorageError

    store = memories.store
    if settings.chroma_url or not isinstance(store, ChromaStore):
        return store  # type: ignore[return-value]
    embed = store.index_config["embed"] if store.index_config else None
    name, dims = store.embedder
    index: IndexConfig = {"dims": dims, "embed": embed, "fields": ["text"]}
    path = settings.data_dir / "conversation-search"
    options = {"embedder_name": name, "symmetric": True}
    try:
        search = ChromaStore.persistent(path, index=index, **options)
    except StorageError as exc:  # EmbedderMismatchError included
        log.warning("conversation search at %s is built again: %s", path, exc)
        shutil.rmtree(path, ignore_errors=True)
        search = ChromaStore.persistent(path, index=index, **options)
    search.share_vectors(store)  # a turn's message is embedded once for both
    return search


def build_recall(
    settings: Settings,
    memories: Memories,
    conversations: ConversationStore | None = None,
    search_store: ChromaStore | None = None,
) -> Recall:
    """Recall over ``memories`` with the settings' token budget, and conversation
    search over ``conversations`` in ``search_store`` (when both are given and the
    settings enable it; see :func:`open_search_store`)."""
    from assistant.memory.recall import Recall

    past = None
    if conversations is not None and search_store is not None and settings.conversation_search:
        from assistant.memory.conversation_search import ConversationIndex

        namespace = fill_namespace(("conversations", "{user_id}"), user_id=settings.user_id)
        past = ConversationIndex(search_store, conversations, namespace)
    return Recall(memories, budget_tokens=settings.recall_budget_tokens, past=past)
