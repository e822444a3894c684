"""Reflection and recall with the embedded model answering for real: a fact told in
one conversation is remembered and comes back in the prompt of another."""

import json
from contextlib import aclosing

import pytest

from assistant.conversations import ConversationStore
from assistant.llm import choose_backend
from assistant.memory.factory import build_recall, open_memories
from assistant.memory.schemas import from_value
from assistant.reflection.manager import MemoryManager
from assistant.session import ChatSession, MemoriesRecalled, ReplyFinished
from tests.integration.conftest import local_settings, run_cli

pytestmark = pytest.mark.model


async def turn(session: ChatSession, thread_id: str, text: str) -> tuple:
    recalled = reply = None
    async with aclosing(session.send(thread_id, text)) as events:
        async for event in events:
            if isinstance(event, MemoriesRecalled):
                recalled = event
            elif isinstance(event, ReplyFinished):
                reply = event.message
    return recalled, reply


async def test_a_fact_is_reflected_and_recalled_in_a_new_conversation(
    local_model, data_dir
) -> None:
    settings = local_settings(data_dir)
    conversations = ConversationStore(settings.database_path)
    memories = open_memories(settings)
    session = ChatSession(
        conversations,
        local_model,
        choose_backend(settings),
        settings,
        build_recall(settings, memories),
    )
    first = conversations.create_thread()
    await turn(session, first.id, "I like dogs. My dog's name is Fido.")

    result = MemoryManager(local_model, memories, conversations).reflect(first.id)

    assert result.status == "applied", result.error
    stored = [s for kind in ("semantic", "episodic") for s in memories.listing(kind)]
    fido = [s for s in stored if "fido" in s.text.lower()]
    assert fido, f"no memory about Fido in {[s.text for s in stored]}"
    assert from_value(memories.store.get(("memories", "me", fido[0].kind), fido[0].key).value)
    assert "dog" in fido[0].text.lower()
    assert conversations.unreflected(first.id) == []

    second = conversations.create_thread()
    recalled, reply = await turn(session, second.id, "What is my dog called?")

    assert fido[0].key in recalled.context.keys
    assert fido[0].key in reply.memories_used
    prompt = session.build_prompt(second.id, recalled.context)
    block = prompt[-2].text  # after the history, just before the question
    assert "<memory>" in block and fido[0].text in block
    assert prompt[0].text.startswith("Today is") and "<memory>" not in prompt[0].text
    memories.close()


def test_reflect_from_the_command_line(data_dir) -> None:
    told = run_cli("chat", "--new", "My cat is called Momo.", data_dir=data_dir)
    assert told.returncode == 0, told.stderr

    reflected = run_cli("reflect", data_dir=data_dir)

    assert reflected.returncode == 0, reflected.stderr
    assert "learned" in reflected.stdout, reflected.stdout
    again = run_cli("reflect", data_dir=data_dir)
    assert "Nothing to reflect on" in again.stdout

    asked = run_cli("chat", "--new", "What is my cat called?", data_dir=data_dir)
    assert asked.returncode == 0, asked.stderr
    store = ConversationStore(data_dir / "conversations.sqlite3")
    latest = store.list_threads(limit=1)[0]
    reply = store.messages(latest.id)[-1]
    assert reply.memories_used, "the reply should have used the memory about Momo"
    journal = store.reflections(store.list_threads()[-1].id)
    assert [r.status for r in journal] == ["applied"]
    assert any("Momo" in c["value"]["text"] for c in json.loads(journal[0].operations)["changes"])


def test_remember_and_incognito_from_the_command_line(data_dir) -> None:
    remembered = run_cli("chat", "/remember I live in Lyon", data_dir=data_dir)
    assert remembered.returncode == 0, remembered.stderr
    assert remembered.stdout.startswith('Remembered (semantic): The user said: "I live in Lyon."')

    private = run_cli("chat", "--new", "--incognito", "I live in Lyon, right?", data_dir=data_dir)
    assert private.returncode == 0, private.stderr
    store = ConversationStore(data_dir / "conversations.sqlite3")
    thread = store.list_threads(limit=1)[0]
    assert thread.incognito
    assert store.messages(thread.id)[-1].memories_used == ()  # nothing recalled

    reflected = run_cli("reflect", data_dir=data_dir)
    assert "incognito: nothing remembered" in reflected.stdout
    forget = run_cli("chat", "/forget Lyon", data_dir=data_dir)
    assert forget.returncode == 1 and "use it in the TUI" in forget.stderr
