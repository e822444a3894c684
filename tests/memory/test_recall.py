"""Recall: what goes into a turn's prompt, within the token budget."""

from assistant.memory.recall import Recall
from assistant.memory.schemas import ProceduralMemory, SemanticMemory


def put_fact(memories, key: str, text: str, **flags) -> None:
    memories.put(key, SemanticMemory(subject="the user", fact=text, **flags))


def test_similar_facts_and_every_rule_are_recalled(memories) -> None:
    put_fact(memories, "dog", "The user's dog is called Fido.")
    put_fact(memories, "tea", "The user drinks green tea every morning.")
    memories.put("metric", ProceduralMemory(rule="Answer in metric units."))

    context = Recall(memories).recall("What is my dog called?")

    assert context.keys[0] == "metric"  # rules first, whatever the query
    assert "dog" in context.keys and "tea" not in context.keys
    reasons = {m.key: m.reason for m in context.memories}
    assert reasons == {"metric": "procedural", "dog": "similar"}
    block = context.block()
    assert block.startswith("<memory>") and block.endswith("</memory>")
    assert "not instructions" in block
    assert block.index("Answer in metric units.") < block.index("The user's dog is called Fido.")


def test_muted_never_pinned_always(memories) -> None:
    put_fact(memories, "dog", "The user's dog is called Fido.", muted=True)
    put_fact(memories, "name", "The user's name is Ada.", pinned=True)
    memories.put("quiet", ProceduralMemory(rule="Never use emoji.", muted=True))

    context = Recall(memories).recall("What is my dog called?")

    assert context.keys == ["name"]
    assert context.memories[0].reason == "pinned"


def test_superseded_and_retired_memories_are_not_recalled(memories) -> None:
    from assistant.memory.schemas import utcnow

    put_fact(memories, "old", "The user's dog is called Rex.", superseded_by="dog")
    put_fact(memories, "gone", "The user's dog is a poodle.", invalid_at=utcnow())
    put_fact(memories, "dog", "The user's dog is called Fido.")
    assert Recall(memories).recall("What is my dog called?").keys == ["dog"]


def test_the_token_budget_trims_the_least_similar(memories) -> None:
    for i, text in enumerate(
        [
            "The user's dog is called Fido.",
            "The user's dog likes long walks.",
            "The user walks the dog at dawn.",
        ]
    ):
        put_fact(memories, f"m{i}", text)
    full = Recall(memories).recall("Tell me about my dog")
    assert len(full) == 3
    one = full.memories[0].tokens
    trimmed = Recall(memories, budget_tokens=one + 1).recall("Tell me about my dog")
    assert trimmed.keys == full.keys[:1] and trimmed.tokens <= one + 1
    assert Recall(memories, budget_tokens=0).recall("Tell me about my dog").keys == []


def test_the_always_set_is_cached_until_the_store_changes(memories) -> None:
    recall = Recall(memories)
    memories.put("metric", ProceduralMemory(rule="Answer in metric units."))
    assert recall.recall("hello").keys == ["metric"]
    memories.put("short", ProceduralMemory(rule="Keep answers short."))
    assert recall.recall("hello").keys == ["metric", "short"]


async def test_an_incognito_thread_gets_no_memories(memories, conversations, settings) -> None:
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from assistant.llm import BackendChoice
    from assistant.session import ChatSession, MemoriesRecalled, ReplyFinished

    memories.put("metric", ProceduralMemory(rule="Answer in metric units."))
    model = GenericFakeChatModel(messages=iter([AIMessage("Sure."), AIMessage("Sure.")]))
    choice = BackendChoice("local", "fake", "fake", "test", None, "http://x")
    session = ChatSession(conversations, model, choice, settings, Recall(memories))
    for incognito, expected in ((False, ["metric"]), (True, [])):
        thread = conversations.create_thread()
        conversations.set_incognito(thread.id, incognito)
        events = [e async for e in session.send(thread.id, "How far is Paris?")]
        recalled = next(e for e in events if isinstance(e, MemoriesRecalled))
        reply = next(e for e in events if isinstance(e, ReplyFinished)).message
        assert recalled.context.keys == expected
        assert list(reply.memories_used) == expected


async def test_a_behaviour_request_shapes_the_very_next_reply(memories, conversations) -> None:
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from assistant.config import Settings
    from assistant.llm import BackendChoice
    from assistant.session import ChatSession, RulesSaved

    model = GenericFakeChatModel(
        messages=iter([AIMessage("Fine."), AIMessage("Paris."), AIMessage("OK.")])
    )
    choice = BackendChoice("local", "fake", "fake", "test", None, "http://x")
    session = ChatSession(conversations, model, choice, Settings.load(), Recall(memories))
    thread = conversations.create_thread()

    events = [e async for e in session.send(thread.id, "Hi. From now on, answer briefly.")]
    saved = [e for e in events if isinstance(e, RulesSaved)]
    assert saved and saved[0].rules == ("Answer briefly.",)
    (rule,) = memories.listing("procedural")
    assert rule.memory.provenance.thread_id == thread.id

    async for _ in session.send(thread.id, "What is the capital of France?"):
        pass
    prompt = session.build_prompt(thread.id, Recall(memories).recall("capital"))
    assert "Answer briefly." in prompt[-2].text  # the memory block, before the question
    # Said again: nothing new is saved, nothing is told.
    again = [e async for e in session.send(thread.id, "From now on, answer briefly.")]
    assert not [e for e in again if isinstance(e, RulesSaved)]


async def test_no_rule_is_saved_in_incognito(memories, conversations) -> None:
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from assistant.config import Settings
    from assistant.llm import BackendChoice
    from assistant.session import ChatSession

    model = GenericFakeChatModel(messages=iter([AIMessage("Fine.")]))
    choice = BackendChoice("local", "fake", "fake", "test", None, "http://x")
    session = ChatSession(conversations, model, choice, Settings.load(), Recall(memories))
    thread = conversations.set_incognito(conversations.create_thread().id, True)
    async for _ in session.send(thread.id, "From now on, answer briefly."):
        pass
    assert memories.listing("procedural") == []


async def test_a_turn_reads_its_thread_once(memories, conversations, monkeypatch) -> None:
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from assistant.config import Settings
    from assistant.llm import BackendChoice
    from assistant.session import ChatSession

    model = GenericFakeChatModel(messages=iter([AIMessage("Fine.")]))
    choice = BackendChoice("local", "fake", "fake", "test", None, "http://x")
    session = ChatSession(conversations, model, choice, Settings.load(), Recall(memories))
    thread = conversations.create_thread()
    reads: list[str] = []
    for name in ("get_thread", "messages"):
        method = getattr(conversations, name)
        monkeypatch.setattr(
            conversations, name, lambda *a, _m=method, _n=name, **k: reads.append(_n) or _m(*a, **k)
        )
    events = [e async for e in session.send(thread.id, "Hello. From now on, be brief.")]

    assert sorted(reads) == ["get_thread", "messages"]
    # ...and still saved the rule, and recalled it into the same turn.
    recalled = next(e for e in events if type(e).__name__ == "MemoriesRecalled")
    assert "Be brief." in [m.text for m in recalled.context.memories]
