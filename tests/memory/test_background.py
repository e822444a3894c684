"""Reflection in the background: it gives way to replies (the model gate), two
runs on one thread write once, and the store-wide consolidation. Real Chroma, the
real embedder, the real conversation database; the model is scripted."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from assistant.llm.gate import ModelGate, Preempted
from assistant.memory.consolidation import consolidate
from assistant.memory.repository import Memories
from assistant.memory.schemas import EpisodicMemory, Provenance, SemanticMemory, utcnow
from assistant.reflection.manager import MemoryManager
from tests.memory.conftest import ScriptedModel, fact, judged, thread_with

FIDO = judged((fact("The user's dog is called Fido."), "create", ""))


class PausingModel(ScriptedModel):
    """Streams its reply in pieces and stops after the first until ``go`` is set;
    ``started`` tells that a generation is under way."""

    started: Any = None
    go: Any = None

    def _stream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        self.prompts.append(list(messages))
        reply = self.replies.pop(0)
        self.started.set()
        for n, start in enumerate(range(0, len(reply), 8)):
            if n == 1:
                assert self.go.wait(10)
            yield ChatGenerationChunk(message=AIMessageChunk(content=reply[start : start + 8]))

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any):
        self.started.set()
        assert self.go.wait(10)
        return super()._generate(messages, stop, run_manager, **kwargs)


def pausing(*replies: str) -> PausingModel:
    return PausingModel(replies=list(replies), started=threading.Event(), go=threading.Event())


def in_thread(fn, *args) -> tuple[threading.Thread, list]:
    out: list = []

    def run() -> None:
        try:
            out.append(fn(*args))
        except BaseException as exc:
            out.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    return worker, out


def test_a_reply_preempts_reflection_and_nothing_is_recorded(memories, conversations) -> None:
    gate = ModelGate()
    thread_id = thread_with(conversations, "My dog is called Fido.")
    model = pausing(FIDO, FIDO)
    manager = MemoryManager(model, memories, conversations, gate=gate)
    worker, out = in_thread(manager.reflect, thread_id)
    assert model.started.wait(10)
    with gate.chat():  # a reply starts while the reflection decodes
        model.go.set()
        worker.join(10)
    assert isinstance(out[0], Preempted)
    assert conversations.reflections(thread_id) == []
    assert conversations.get_thread(thread_id).reflected_through == 0
    assert memories.listing("semantic") == []
    # Once the reply is done, the next run starts over and writes once.
    result = manager.reflect(thread_id)
    assert result.status == "applied" and len(model.prompts) == 2
    assert [s.text for s in memories.listing("semantic")] == ["The user's dog is called Fido."]


def test_reflection_waits_while_a_reply_is_written(memories, conversations) -> None:
    gate = ModelGate()
    thread_id = thread_with(conversations, "My dog is called Fido.")
    model = pausing(FIDO)
    model.go.set()
    manager = MemoryManager(model, memories, conversations, gate=gate)
    with gate.chat():
        worker, out = in_thread(manager.reflect, thread_id)
        assert not model.started.wait(0.5)  # no model call while the reply streams
    worker.join(10)
    assert out[0].status == "applied"


def test_closing_the_gate_stops_a_waiting_reflection(memories, conversations) -> None:
    gate = ModelGate()
    thread_id = thread_with(conversations, "My dog is called Fido.")
    manager = MemoryManager(pausing(FIDO), memories, conversations, gate=gate)
    with gate.chat():
        worker, out = in_thread(manager.reflect, thread_id)
        gate.close()
        worker.join(10)
    assert isinstance(out[0], Preempted)
    assert conversations.reflections(thread_id) == []


def test_two_runs_on_one_thread_write_once(memories, conversations) -> None:
    """Two processes (or the TUI and `assistant reflect`) reflecting on one thread at
    once: the slower finds the work done and records nothing."""
    thread_id = thread_with(conversations, "My dog is called Fido.")
    slow = pausing(FIDO)
    worker, out = in_thread(MemoryManager(slow, memories, conversations).reflect, thread_id)
    assert slow.started.wait(10)
    fast = MemoryManager(ScriptedModel(replies=[FIDO]), memories, conversations)
    assert fast.reflect(thread_id).summary == "learned 1"
    slow.go.set()
    worker.join(10)
    assert out[0].status == "nothing"
    assert [r.status for r in conversations.reflections(thread_id)] == ["applied"]
    assert [s.text for s in memories.listing("semantic")] == ["The user's dog is called Fido."]


def remembered(memories: Memories, key: str, text: str, thread: str, days_ago: float) -> None:
    when = utcnow() - timedelta(days=days_ago)
    provenance = Provenance(source="reflection", thread_id=thread, message_ids=(1,))
    memory = SemanticMemory(
        subject="the user", fact=text, provenance=provenance, created_at=when, updated_at=when
    )
    memories.put(key, memory)


def test_consolidation_merges_twins_from_different_conversations(memories) -> None:
    remembered(memories, "old", "The user's dog is called Fido.", "t1", days_ago=10)
    remembered(memories, "new", "The user's dog is named Fido.", "t2", days_ago=1)
    remembered(memories, "tea", "The user drinks green tea.", "t3", days_ago=5)
    episode = EpisodicMemory(
        situation="The user's dog is called Fido.",
        action="The assistant suggested names.",
        outcome="The user kept Fido.",
        lesson="Ask before suggesting.",
    )
    memories.put("episode", episode)  # another kind: never merged with a fact
    pinned = memories.get("tea")
    assert pinned is not None
    memories.put("tea", pinned.memory.model_copy(update={"pinned": True}))

    report = consolidate(memories)

    assert report.summary == "merged 1"
    kept, merged_away = memories.get("old"), memories.get("new")
    assert kept is not None and merged_away is not None
    # The older memory keeps its key and takes the newer wording and provenance.
    assert kept.memory.active and kept.text == "The user's dog is named Fido."
    assert kept.memory.provenance.thread_id == "t2"
    assert merged_away.memory.superseded_by == "old" and not merged_away.memory.active
    tea = memories.get("tea")
    assert tea is not None and tea.memory.active and tea.memory.pinned
    assert memories.get("episode") is not None and memories.get("episode").memory.active
    assert consolidate(memories).summary == "nothing to do"


def test_consolidation_retires_history_past_the_retention_period(memories) -> None:
    now = utcnow()
    remembered(memories, "a", "The user lived in Boston.", "t1", days_ago=200)
    remembered(memories, "b", "The user worked at Acme.", "t1", days_ago=200)
    remembered(memories, "c", "The user lives in Denver.", "t1", days_ago=1)
    for key, days in (("a", 100), ("b", 10)):
        found = memories.get(key)
        assert found is not None
        retired = found.memory.model_copy(
            update={"invalid_at": now - timedelta(days=days), "superseded_by": "c"}
        )
        memories.put(key, retired)

    assert consolidate(memories, retention=None).retired == 0
    report = consolidate(memories, retention=timedelta(days=90))

    assert (report.merged, report.retired) == (0, 1)
    assert memories.get("a") is None  # past 90 days: deleted
    assert memories.get("b") is not None and memories.get("c") is not None


@pytest.mark.parametrize("batch", [1, 64])
def test_consolidation_of_many_twins_leaves_one(memories, batch: int) -> None:
    for n in range(4):
        remembered(memories, f"k{n}", "The user's dog is called Fido.", f"t{n}", days_ago=10 - n)
    report = consolidate(memories, batch=batch)
    active = [s for s in memories.listing("semantic") if s.memory.active]
    assert report.merged == 3 and [s.key for s in active] == ["k0"]
    assert {s.memory.superseded_by for s in memories.listing("semantic")} == {None, "k0"}
