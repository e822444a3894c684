"""Chat model backends and how one is chosen.

``auto`` (the default) uses Ollama when it answers within
``probe_timeout_seconds`` and has the configured model; otherwise the embedded
llama.cpp model, with a notice that says which host was tried, what is used
instead, and how to switch. ``ollama`` and ``local`` force a backend.

The names below live in :mod:`assistant.llm.backends`; they are imported from
there on first use (PEP 562), so that a module that needs only the gate
(:mod:`assistant.llm.gate`) or the bundled models does not load LangChain (half
a second before the TUI's first screen).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.llm.backends import (
        BackendChoice,
        choose_backend,
        constrain,
        explain_failure,
        load_chat_model,
        local_name,
    )

__all__ = [
    "BackendChoice",
    "choose_backend",
    "constrain",
    "explain_failure",
    "load_chat_model",
    "local_name",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from assistant.llm import backends

        return getattr(backends, name)
    raise AttributeError(f"module 'assistant.llm' has no attribute {name!r}")
