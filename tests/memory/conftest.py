"""Fixtures for reflection and recall: real Chroma on a temp dir with the real
embedder, the real conversation database, and a scripted chat model."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from assistant.conversations import ConversationStore
from assistant.memory.repository import Memories
from assistant.store.chroma import ChromaStore

NAMESPACE = ("memories", "me")


class ScriptedModel(BaseChatModel):
    """Answers with the given replies in turn and records every prompt and its
    keyword arguments (the JSON schema it was bound to)."""

    replies: list[str]
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        self.calls.append(kwargs)
        if not self.replies:
            raise AssertionError("the model was called more often than scripted")
        reply = AIMessage(self.replies.pop(0))
        return ChatResult(generations=[ChatGeneration(message=reply)])


def judged(*items: tuple[dict[str, Any] | None, str, str]) -> str:
    """A valid answer: one ``(memory, op, target)`` per sentence, in order (a
    ``None`` memory or the op ``"none"``: nothing drawn from that sentence)."""
    return json.dumps(
        {
            "sentences": [
                {
                    "sentence": f"S{i + 1}",
                    "memories": []
                    if memory is None or op == "none"
                    else [{**memory, "op": op, "target": target}],
                }
                for i, (memory, op, target) in enumerate(items)
            ]
        }
    )


def fact(text: str) -> dict[str, str]:
    return {"kind": "semantic", "fact": text}


@pytest.fixture
def chroma(tmp_path: Path, minilm) -> Iterator[ChromaStore]:
    index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    store = ChromaStore.persistent(tmp_path / "memory", index=index, embedder_name=minilm.name)
    yield store
    store.close()


@pytest.fixture
def memories(chroma: ChromaStore) -> Memories:
    return Memories(chroma, NAMESPACE)


@pytest.fixture
def conversations(tmp_path: Path) -> Iterator[ConversationStore]:
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    yield store
    store.close()


def thread_with(conversations: ConversationStore, *user_texts: str) -> str:
    """A thread where the user said each text and the assistant answered "OK."."""
    thread = conversations.create_thread()
    for text in user_texts:
        conversations.add_message(thread.id, "user", text)
        conversations.add_message(thread.id, "assistant", "OK.")
    return thread.id
