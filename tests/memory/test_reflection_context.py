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


def rule(text: str) -> dict[str, str]:
    return {"kind": "procedural", "rule": text}


def test_names_thanks_and_one_off_tasks_are_no_memories(memories, conversations) -> None:
    """From the evaluation's misses: a friend's name taken for the user's, thanks
    taken for a fact, one piece of work taken for a standing rule."""
    thread_id = thread_with(
        conversations,
        "Clara, you are a star for helping me move!",
        "Thanks, you've been really helpful!",
        "Help me write a polite email to a client.",
        "Keep your answers short, always.",
    )
    kept = reflect(
        memories,
        conversations,
        thread_id,
        judged(
            (fact("The user's name is Clara."), "create", ""),
            (fact("The user has been really helpful."), "create", ""),
            (rule("Help the user write a polite email to a client."), "create", ""),
            (rule("Keep answers short."), "create", ""),
        ),
    )
    assert kept == ["Keep answers short."]

    thread_id = thread_with(conversations, "Hi there!", "I'm Marta, by the way.")
    kept = reflect(
        memories,
        conversations,
        thread_id,
        judged((fact("The user's name is Marta."), "create", ""), (None, "none", "")),
    )
    assert "The user's name is Marta." in kept


def test_a_new_value_of_a_single_valued_fact_supersedes_the_old(memories, conversations) -> None:
    """From the evaluation: the old job and city stayed active beside the new ones."""
    first = thread_with(conversations, "I work at Hollmann as an accountant.", "I like Rome.")
    reflect(
        memories,
        conversations,
        first,
        judged(
            (fact("The user works at Hollmann as an accountant."), "create", ""),
            (fact("The user likes Rome."), "create", ""),
        ),
    )
    later = thread_with(conversations, "I now work at Nordlicht as an accountant.", "I like Paris.")
    kept = reflect(
        memories,
        conversations,
        later,
        judged(
            (fact("The user works at Nordlicht as an accountant."), "create", ""),
            (fact("The user likes Paris."), "create", ""),
        ),
    )
    assert "The user works at Hollmann as an accountant." not in kept
    assert "The user works at Nordlicht as an accountant." in kept
    assert {"The user likes Rome.", "The user likes Paris."} <= set(kept)  # both hold
    (old,) = [s for s in memories.listing("semantic") if "Hollmann" in s.text]
    assert old.memory.superseded_by is not None  # kept as history
