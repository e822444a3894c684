"""The memory manager with a scripted model: every operation, consolidation,
grounding, retries and failure, and the journal's crash recovery. Real Chroma,
the real embedder and the real conversation database."""

import json
from datetime import timedelta

import pytest

from assistant.conversations import ConversationStore
from assistant.memory.repository import Memories
from assistant.memory.schemas import Provenance, SemanticMemory
from assistant.reflection.manager import MemoryManager
from tests.memory.conftest import ScriptedModel, fact, judged, thread_with


def manager(model, memories: Memories, conversations: ConversationStore) -> MemoryManager:
    return MemoryManager(model, memories, conversations)


def known(memories: Memories, text: str, key: str = "k1") -> str:
    memories.put(key, SemanticMemory(subject="the user", fact=text))
    return key


def active_facts(memories: Memories) -> list[str]:
    return sorted(s.text for s in memories.listing("semantic") if s.memory.active)


def dropped(conversations: ConversationStore, thread_id: str) -> list[dict]:
    return json.loads(conversations.reflections(thread_id)[-1].operations or "{}")["dropped"]


def test_create_keeps_provenance_and_advances_the_cursor(memories, conversations) -> None:
    thread_id = thread_with(conversations, "I like dogs. My dog's name is Fido.")
    model = ScriptedModel(
        replies=[judged((fact("The user likes dogs."), "create", ""), (None, "none", ""))]
    )
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.status == "applied" and result.summary == "learned 2"
    assert [c.origin for c in result.changes] == ["model", "safety net"]
    stored = {s.text: s for s in memories.listing("semantic")}
    # The model missed the second sentence; the user's own words are kept instead.
    assert set(stored) == {"The user likes dogs.", 'The user said: "My dog\'s name is Fido."'}
    first_message = conversations.messages(thread_id)[0]
    for memory in stored.values():
        assert memory.memory.provenance == Provenance(
            source="reflection", thread_id=thread_id, message_ids=(first_message.id,)
        )
    thread = conversations.get_thread(thread_id)
    assert thread.reflected_through == conversations.messages(thread_id)[-1].id
    assert [r.status for r in conversations.reflections(thread_id)] == ["applied"]
    assert conversations.unreflected(thread_id) == []


def test_the_schema_has_one_judgement_per_sentence_and_the_known_ids(
    memories, conversations
) -> None:
    known(memories, "The user's dog is called Fido.")
    thread_id = thread_with(conversations, "My dog Fido is a beagle. What should he eat?")
    model = ScriptedModel(replies=[judged((None, "none", ""), (None, "none", ""))])
    manager(model, memories, conversations).reflect(thread_id)

    schema = model.calls[0]["response_format"]["json_schema"]["schema"]
    items = schema["properties"]["sentences"]["prefixItems"]
    anchors = [item["properties"]["sentence"]["const"] for item in items]
    assert anchors == ["S1: My dog Fido is a beagle.", "S2: What should he eat?"]
    drafts = items[0]["properties"]["memories"]["items"]["anyOf"]
    assert all(d["properties"]["target"]["enum"] == ["", "M1"] for d in drafts)
    last = model.prompts[0][-1].text
    assert "M1: The user's dog is called Fido." in last
    assert "S1: My dog Fido is a beagle.\nS2: What should he eat?" in last


def test_update_rewrites_the_known_memory_in_place(memories, conversations) -> None:
    key = known(memories, "The user's dog is called Fido.")
    created = memories.get(key).memory.created_at
    thread_id = thread_with(conversations, "My dog Fido is a beagle.")
    model = ScriptedModel(
        replies=[judged((fact("The user's dog Fido is a beagle."), "update", "M1"))]
    )
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.summary == "updated 1"
    stored = memories.get(key)
    assert stored.text == "The user's dog Fido is a beagle."
    assert stored.memory.created_at == created and stored.memory.updated_at > created
    assert len(memories.listing("semantic")) == 1
    assert result.changes[0].before["fact"] == "The user's dog is called Fido."


def test_supersede_keeps_the_old_fact_in_history(memories, conversations) -> None:
    old_key = known(memories, "The user lives in Rome.")
    thread_id = thread_with(conversations, "I moved to Berlin.")
    model = ScriptedModel(replies=[judged((fact("The user lives in Berlin."), "supersede", "M1"))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.summary == "replaced 1"
    old = memories.get(old_key).memory
    assert not old.active and old.invalid_at is not None
    new = memories.get(old.superseded_by)
    assert new.text == "The user lives in Berlin." and new.memory.active
    assert active_facts(memories) == ["The user lives in Berlin."]


def test_delete_retires_the_memory_instead_of_destroying_it(memories, conversations) -> None:
    key = known(memories, "The user has a cat.")
    thread_id = thread_with(conversations, "Forget the cat, it was my neighbour's cat.")
    model = ScriptedModel(replies=[judged((fact("The user has a cat."), "delete", "M1"))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.summary == "retired 1"
    retired = memories.get(key).memory
    assert retired.invalid_at is not None and retired.superseded_by is None
    assert active_facts(memories) == []


def test_delete_of_an_unrelated_memory_is_refused(memories, conversations) -> None:
    key = known(memories, "The user has a cat.")
    thread_id = thread_with(conversations, "What is the weather in Oslo?")
    model = ScriptedModel(replies=[judged((fact("The user has a cat."), "delete", "M1"))])
    manager(model, memories, conversations).reflect(thread_id)
    assert memories.get(key).memory.active


def test_a_restated_fact_updates_instead_of_adding_a_twin(memories, conversations) -> None:
    key = known(memories, "The user's dog is called Fido.")
    thread_id = thread_with(conversations, "My dog is named Fido.")
    model = ScriptedModel(replies=[judged((fact("The user's dog is named Fido."), "create", ""))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert [c.op for c in result.changes] == ["update"]
    assert [s.key for s in memories.listing("semantic")] == [key]
    assert memories.get(key).text == "The user's dog is named Fido."


def test_an_identical_fact_changes_nothing(memories, conversations) -> None:
    known(memories, "The user's dog is called Fido.")
    thread_id = thread_with(conversations, "My dog is called Fido.")
    model = ScriptedModel(replies=[judged((fact("The user's dog is called Fido."), "create", ""))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.changes == () and result.summary == "nothing new"
    assert dropped(conversations, thread_id)[0]["reason"] == "already known"
    assert len(memories.listing("semantic")) == 1


def test_the_same_memory_twice_in_one_answer_is_kept_once(memories, conversations) -> None:
    thread_id = thread_with(conversations, "My sister Anna visits often. Anna is my sister.")
    same = fact("The user's sister Anna visits often.")
    model = ScriptedModel(replies=[judged((same, "create", ""), (same, "create", ""))])
    manager(model, memories, conversations).reflect(thread_id)
    assert active_facts(memories) == ["The user's sister Anna visits often."]


def test_invented_memories_are_dropped(memories, conversations) -> None:
    thread_id = thread_with(conversations, "What is the capital of France?")
    model = ScriptedModel(replies=[judged((fact("The user's cat is called Momo."), "create", ""))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.changes == ()
    assert "Momo" in dropped(conversations, thread_id)[0]["reason"]
    assert memories.listing("semantic") == []


def test_a_missed_behaviour_request_still_becomes_a_rule(memories, conversations) -> None:
    thread_id = thread_with(conversations, "From now on, answer in metric units.")
    model = ScriptedModel(replies=[judged((fact("The user lives in Berlin."), "create", ""))])
    result = manager(model, memories, conversations).reflect(thread_id)
    rules = memories.listing("procedural")
    assert [r.text for r in rules] == ["Answer in metric units."]
    assert memories.listing("semantic") == []
    assert [c.origin for c in result.changes] == ["safety net"]


def test_invalid_output_is_retried_with_the_reason(memories, conversations) -> None:
    thread_id = thread_with(conversations, "I play the cello.")
    model = ScriptedModel(
        replies=["not json", judged((fact("The user plays the cello."), "create", ""))]
    )
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.status == "applied" and result.model_calls == 2
    assert "invalid: not JSON" in model.prompts[1][-1].text
    assert active_facts(memories) == ["The user plays the cello."]


def test_output_that_stays_invalid_fails_and_touches_nothing(memories, conversations) -> None:
    thread_id = thread_with(conversations, "I play the cello.")
    bad = ["not json", '{"sentences": "no"}', '{"sentences": [{"sentence": "S9"}]}']
    model = ScriptedModel(replies=list(bad))
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.status == "failed" and result.model_calls == 3
    assert "no valid answer in 3 attempts" in result.summary
    [record] = conversations.reflections(thread_id)
    assert record.status == "failed" and record.raw_output == bad[-1]
    assert conversations.get_thread(thread_id).reflected_through == 0
    assert memories.listing("semantic") == [] and memories.listing("procedural") == []


def test_a_crash_between_the_store_write_and_the_cursor_is_completed_once(
    memories, conversations, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = thread_with(conversations, "I play the cello.")
    model = ScriptedModel(replies=[judged((fact("The user plays the cello."), "create", ""))])

    def crash(reflection_id: str) -> None:
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(conversations, "finish_reflection", crash)
        with pytest.raises(KeyboardInterrupt):
            manager(model, memories, conversations).reflect(thread_id)
    assert active_facts(memories) == ["The user plays the cello."]  # written...
    assert conversations.get_thread(thread_id).reflected_through == 0  # ...cursor not moved

    again = manager(ScriptedModel(replies=[]), memories, conversations).reflect(thread_id)
    # The recovered run says what it wrote (issue 18.13), not "nothing new".
    assert again.recovered and again.status == "applied" and again.summary == "learned 1"
    assert active_facts(memories) == ["The user plays the cello."]
    assert [r.status for r in conversations.reflections(thread_id)] == ["applied"]


def test_incognito_threads_are_not_remembered(memories, conversations) -> None:
    thread_id = thread_with(conversations, "My dog's name is Fido.")
    conversations.set_incognito(thread_id, True)
    result = manager(ScriptedModel(replies=[]), memories, conversations).reflect(thread_id)

    assert result.status == "incognito"
    assert memories.listing("semantic") == []
    assert conversations.unreflected(thread_id) == []


def test_nothing_new_makes_no_model_call(memories, conversations) -> None:
    thread_id = conversations.create_thread().id
    result = manager(ScriptedModel(replies=[]), memories, conversations).reflect(thread_id)
    assert result.status == "nothing"


def test_a_dead_model_is_a_recorded_failure(memories, conversations) -> None:
    thread_id = thread_with(conversations, "I play the cello.")
    result = manager(ScriptedModel(replies=[]), memories, conversations).reflect(thread_id)
    assert result.status == "failed" and "could not be called" in result.error
    assert conversations.reflections(thread_id)[0].status == "failed"


def test_relative_dates_become_absolute_and_date_the_memory(memories, conversations) -> None:
    thread_id = conversations.create_thread().id
    conversations.add_message(thread_id, "user", "I moved to Lisbon last month. I'm Marta, hi!")
    model = ScriptedModel(
        replies=[
            judged((fact("The user moved to Lisbon last month."), "create", ""), (None, "none", ""))
        ]
    )
    manager(model, memories, conversations).reflect(thread_id)

    shown = model.prompts[0][-1].text
    said = conversations.messages(thread_id)[0].created_at.astimezone().date()
    first = said.replace(day=1)
    month = (first - timedelta(days=1)).replace(day=1)
    assert f"last month [{month:%B %Y}]" in shown  # the model sees the absolute date
    facts = {s.text: s.memory for s in memories.listing("semantic")}
    moved = facts[f"The user moved to Lisbon in {month:%B %Y}."]
    assert moved.valid_from.date() == month  # it holds since then
    # The model gave nothing for the second sentence; the user's name is kept anyway.
    assert "The user's name is Marta." in facts


def test_small_talk_and_words_to_others_never_become_rules(memories, conversations) -> None:
    thread_id = thread_with(
        conversations, "Don't forget, you got this!", "Take care, Sam!", "I love it."
    )
    rule = {"kind": "procedural", "rule": "Take care."}
    model = ScriptedModel(
        replies=[judged((rule, "create", ""), (rule, "create", ""), (None, "none", ""))]
    )
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.changes == ()
    reasons = [d["reason"] for d in dropped(conversations, thread_id)]
    assert reasons and all("grounded" in r or "request" in r for r in reasons), reasons


def test_a_plan_is_a_dated_fact_not_an_experience(memories, conversations) -> None:
    thread_id = thread_with(conversations, "Next Tuesday I have an interview at the hospital.")
    episode = {
        "kind": "episodic",
        "situation": "The user has an interview at the hospital.",
        "action": "The user prepares.",
        "outcome": "The user is ready.",
        "lesson": "Prepare early.",
    }
    model = ScriptedModel(replies=[judged((episode, "create", ""))])
    manager(model, memories, conversations).reflect(thread_id)

    assert memories.listing("episodic") == []
    (interview,) = active_facts(memories)
    assert interview.startswith("The user has an interview at the hospital (20")


def test_the_worked_examples_fit_their_own_schema() -> None:
    from assistant.reflection.output import output_schema, parse_output
    from assistant.reflection.prompts import kind_prompts

    for prompt in kind_prompts():
        sentences = [
            line.split(": ", 1)[1] for line in prompt.example.splitlines() if line[:1] == "S"
        ]
        answer = json.loads(prompt.answer)
        anchors = output_schema(sentences, 1)["properties"]["sentences"]["prefixItems"]
        assert [a["properties"]["sentence"]["const"] for a in anchors] == [
            j["sentence"] for j in answer["sentences"]
        ]
        assert all(parse_output(prompt.answer, len(sentences)))


def test_a_memory_put_under_the_next_sentence_is_taken_from_its_own(
    memories, conversations
) -> None:
    """Small models shift a memory onto the sentence after the one that says it:
    it is checked against (and dated from) the sentence that holds its words."""
    known(memories, "The user is a nurse.")
    thread_id = thread_with(
        conversations, "I changed jobs: I'm now a midwife at Santa Maria hospital.", "I love it."
    )
    midwife = fact("The user is a midwife at Santa Maria hospital.")
    rule = {"kind": "procedural", "rule": "Change jobs to midwife."}
    model = ScriptedModel(replies=[judged((rule, "create", ""), (midwife, "supersede", "M1"))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.summary == "replaced 1"
    assert active_facts(memories) == ["The user is a midwife at Santa Maria hospital."]
    (change,) = [c for c in result.changes if c.op == "create"]
    assert change.evidence.startswith("I changed jobs")


def test_a_memory_with_an_ellipsis_for_words_is_dropped(memories, conversations) -> None:
    thread_id = thread_with(conversations, "Hi, I'm Marta and I like it here.")
    model = ScriptedModel(replies=[judged((fact("The user's name is ...."), "create", ""))])
    manager(model, memories, conversations).reflect(thread_id)

    assert "The user's name is Marta." in active_facts(memories)
    assert not [f for f in active_facts(memories) if "..." in f]


def test_a_supersede_that_changes_nothing_is_dropped(memories, conversations) -> None:
    old_key = known(memories, "The user lives in Rome.")
    thread_id = thread_with(conversations, "I live in Rome, still.")
    same = fact("The user lives in Rome.")
    model = ScriptedModel(replies=[judged((same, "supersede", "M1"))])
    result = manager(model, memories, conversations).reflect(thread_id)

    assert result.changes == ()
    assert memories.get(old_key).memory.active
    assert "already known" in [d["reason"] for d in dropped(conversations, thread_id)]


def test_people_named_with_their_relation_are_kept_without_a_date(memories, conversations) -> None:
    thread_id = thread_with(
        conversations, "I moved to Lisbon last month with my partner Joao and my cat Pixel."
    )
    model = ScriptedModel(replies=[judged((fact("The user moved to Lisbon."), "create", ""))])
    manager(model, memories, conversations).reflect(thread_id)

    facts = active_facts(memories)
    assert "The user's partner is Joao." in facts and "The user's cat is Pixel." in facts
    assert any(f.startswith("The user moved to Lisbon (") for f in facts), facts
