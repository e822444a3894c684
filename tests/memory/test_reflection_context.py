"""Memories that stand on their own (issue 16): what "it" means is said, feelings
are the user's own, and the prompt's worked examples never become memories."""

import json

from assistant.reflection.manager import MemoryManager
from assistant.reflection.prompts import kind_prompts
from tests.memory.conftest import ScriptedModel, fact, judged, thread_with


def reflect(memories, conversations, thread_id: str, *answers: str) -> list[str]:
    MemoryManager(ScriptedModel(replies=list(answers)), memories, conversations).reflect(thread_id)
    return sorted(
        s.text
        for kind in ("semantic", "episodic", "procedural")
        for s in memories.listing(kind)
        if s.memory.active
    )


def test_it_is_resolved_to_what_it_refers_to_or_the_memory_is_dropped(
    memories, conversations
) -> None:
    thread_id = thread_with(
        conversations, "I started watercolour painting this spring.", "I love it."
    )
    kept = reflect(
        memories,
        conversations,
        thread_id,
        judged(
            (fact("The user started watercolour painting this spring."), "create", ""),
            (fact("The user loves it."), "create", ""),
        ),
    )
    assert not any("loves it" in text for text in kept)

    thread_id = thread_with(conversations, "I started pottery classes.", "I love it.")
    kept = reflect(
        memories,
        conversations,
        thread_id,
        judged((None, "none", ""), (fact("The user loves pottery classes."), "create", "")),
    )
    assert "The user loves pottery classes." in kept


def test_a_feeling_the_user_did_not_say_is_not_kept(memories, conversations) -> None:
    thread_id = thread_with(conversations, "Dealing with health issues has been tough.")
    kept = reflect(
        memories,
        conversations,
        thread_id,
        judged((fact("The user loves health issues."), "create", "")),
    )
    assert kept == []

    thread_id = thread_with(conversations, "Honestly I adore long hikes in the Alps.")
    kept = reflect(
        memories,
        conversations,
        thread_id,
        judged((fact("The user loves long hikes in the Alps."), "create", "")),
    )
    assert kept == ["The user loves long hikes in the Alps."]


def test_the_worked_examples_never_leak_into_memories(memories, conversations) -> None:
    """A small model copies the prompt's example answer: none of it is kept."""
    said = ["Can you help me plan my week?", "What is a good subject line for an email?"]
    for prompt in kind_prompts():
        copied = [
            memory
            for judgement in json.loads(prompt.answer)["sentences"]
            for memory in judgement["memories"]
        ]
        assert copied, "every worked example shows at least one memory"
        thread_id = thread_with(conversations, *said)
        answer = {
            "sentences": [
                {"sentence": f"S{i + 1}", "memories": copied[:4]} for i in range(len(said))
            ]
        }
        kept = reflect(memories, conversations, thread_id, json.dumps(answer))
        texts = [m.get("fact") or m.get("rule") or m["situation"] for m in copied]
        assert kept == [], (texts, prompt.example)
