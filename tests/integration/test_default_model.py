"""The default bundled model (Qwen2.5-Coder-1.5B-Instruct) answering and
reflecting for real: a plain question, and the memories of an ordinary
conversation (names, a job, a city, an absolute date, a rule, an experience),
asserted on the store by content. About two minutes on 2 cores."""

import re
from datetime import timedelta

import pytest

from assistant.conversations import ConversationStore
from assistant.llm import choose_backend, load_chat_model
from assistant.llm.bundled import MODELS, installed
from assistant.memory.factory import open_memories
from assistant.reflection.manager import MemoryManager
from tests.integration.conftest import local_settings

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        not installed(MODELS["default"]), reason="the default model is not installed"
    ),
]

CONVERSATION = [
    "I'm Marta, a nurse, moved to Lisbon last month with my partner Joao; "
    "my cat Pixel hates the new flat",
    "From now on keep answers short",
    "Next Tuesday I have an interview at Santa Maria hospital",
    "Last year I ran the Porto half marathon; starting too fast ruins the second half",
]


@pytest.fixture(scope="module")
def default_model(tmp_path_factory):
    from tests.conftest import MODELS_DIR

    settings = local_settings(
        tmp_path_factory.mktemp("default"), local_model="default", models_dir=MODELS_DIR
    )
    return load_chat_model(choose_backend(settings), settings)


def test_a_plain_question_is_answered(default_model) -> None:
    reply = default_model.invoke("What is the capital of France? One sentence.", max_tokens=32)
    assert "Paris" in reply.text


def test_an_ordinary_conversation_becomes_real_memories(default_model, data_dir) -> None:
    settings = local_settings(data_dir, local_model="default")
    conversations = ConversationStore(settings.database_path)
    memories = open_memories(settings)
    thread = conversations.create_thread()
    for text in CONVERSATION:
        conversations.add_message(thread.id, "user", text)
        conversations.add_message(thread.id, "assistant", "OK.")
    said = conversations.messages(thread.id)[0].created_at.astimezone().date()

    result = MemoryManager(default_model, memories, conversations).reflect(thread.id)

    assert result.status == "applied"
    facts = [s for s in memories.listing("semantic") if s.memory.active]
    texts = " | ".join(s.text for s in facts)
    assert "Marta" in texts, texts
    assert re.search(r"\bnurse\b", texts), texts
    assert "Lisbon" in texts, texts
    tuesday = said + timedelta(days=(1 - said.weekday()) % 7 or 7)
    interview = [s.text for s in facts if "interview" in s.text]
    assert interview and tuesday.isoformat() in interview[0], texts
    rules = [s.text.lower() for s in memories.listing("procedural")]
    assert any("short" in r for r in rules), rules
    (episode,) = [s for s in memories.listing("episodic") if "marathon" in s.text.lower()]
    assert str(said.year - 1) in episode.text
    # They come from the model, not the safety net of quoted sentences.
    origins = [c.origin for c in result.changes]
    assert origins.count("model") >= 5, result.changes
    assert not any(s.text.startswith("The user said:") for s in facts), texts
    conversations.close()
    memories.close()
