"""A generic LangGraph ``BaseStore`` on embedded (or remote) Chroma.

:class:`assistant.store.chroma.ChromaStore` knows namespaces, items, filters and
embeddings, nothing of memories: any LangGraph app can use it as it would use
``InMemoryStore``. The memory domain (:mod:`assistant.memory`) is built on top.
"""
