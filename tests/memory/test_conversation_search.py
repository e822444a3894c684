"""Conversation search: past messages found by meaning and merged into recall,
on real Chroma and the real conversation database."""

import asyncio
from datetime import UTC, datetime

from assistant.config import Settings
from assistant.llm import BackendChoice
from assistant.memory.conversation_search import ConversationIndex
from assistant.memory.recall import MemoryContext, Recall
from assistant.memory.schemas import Provenance, SemanticMemory
from assistant.session import ChatSession, MemoriesRecalled
from tests.memory.conftest import ScriptedModel

NAMESPACE = ("conversations", "me")


def chat(conversations, *turns: str, when: datetime | None = None) -> list[int]:
    """A thread of alternating user and assistant messages; their ids."""
    thread = conversations.create_thread()
    roles = ["user", "assistant"] * len(turns)
    return [
        conversations.add_message(thread.id, role, text, created_at=when).id
        for role, text in zip(roles, turns, strict=False)
    ]


def test_a_past_exchange_is_found_with_its_neighbours_date_and_title(
    memories, conversations
) -> None:
    march = datetime(2026, 3, 10, 12, tzinfo=UTC)
    chat(conversations, "What should I cook tonight?", "Maybe a risotto.")
    ids = chat(
        conversations,
        "I started watercolour painting.",
        "Lovely! What do you paint?",
        "Mostly landscapes near the river.",
        when=march,
    )
    index = ConversationIndex(memories.store, conversations, NAMESPACE)
    assert index.sync() == 5
    assert index.sync() == 0  # up to date: nothing twice

    found = index.search("What kind of art do I paint?", limit=1)

    assert len(found) == 1
    exchange = found[0]
    assert exchange.message_id in ids
    assert exchange.thread.title == "I started watercolour painting."
    assert exchange.when == march
    text = exchange.text()
    assert text.startswith('2026-03-10, in "I started watercolour painting."')
    assert text.splitlines()[1:] == [
        "  the user said: I started watercolour painting.",
        "  you answered: Lovely! What do you paint?",
        "  the user said: Mostly landscapes near the river.",
    ]
    assert "risotto" not in text


def test_deleted_and_incognito_conversations_are_never_found(memories, conversations) -> None:
    kept = chat(conversations, "My bicycle is a red Peugeot from 1982.")
    secret = chat(conversations, "My bicycle lock code is 4711.")
    gone = chat(conversations, "I sold my old bicycle to a neighbour.")
    index = ConversationIndex(memories.store, conversations, NAMESPACE)
    index.sync()
    conversations.set_incognito(
        conversations.messages_after(secret[0] - 1, 1)[0][0].thread_id, True
    )
    conversations.delete_thread(conversations.messages_after(gone[0] - 1, 1)[0][0].thread_id)

    found = index.search("Tell me about my bicycle", limit=3, min_score=0.0)

    assert [e.message_id for e in found] == kept


def test_incognito_messages_are_not_indexed_and_forget_removes_a_thread(
    memories, conversations
) -> None:
    private = conversations.create_thread()
    conversations.set_incognito(private.id, True)
    conversations.add_message(private.id, "user", "My bank PIN is 1234.")
    ids = chat(conversations, "My favourite bank holiday is in May.")
    index = ConversationIndex(memories.store, conversations, NAMESPACE)

    assert index.sync() == 1
    assert [i.key for i in memories.store.search(index.items, limit=10)] == [str(ids[0])]
    thread_id = conversations.messages_after(ids[0] - 1, 1)[0][0].thread_id
    assert index.forget_thread(thread_id) == 1
    assert memories.store.search(index.items, limit=10) == []
    assert index.rebuild() == 1  # the database is the truth: the thread is back


def test_recall_merges_memories_and_exchanges_in_one_budget_without_twins(
    memories, conversations
) -> None:
    ids = chat(
        conversations,
        "My sister Ana lives in Porto.",
        "Nice city!",
        "Ana works as a nurse at the Santo Antonio hospital.",
    )
    thread_id = conversations.messages_after(ids[0] - 1, 1)[0][0].thread_id
    made_from = Provenance(source="reflection", thread_id=thread_id, message_ids=(ids[0],))
    memories.put(
        "ana",
        SemanticMemory(
            subject="the user", fact="The user's sister Ana lives in Porto.", provenance=made_from
        ),
    )
    index = ConversationIndex(memories.store, conversations, NAMESPACE)
    recall = Recall(memories, past=index, past_min_score=0.0, past_limit=3)
    assert recall.recall("Where does my sister Ana live and work?").exchanges == ()
    recall.index_new()  # as each turn after its reply, and the TUI at start

    context = recall.recall("Where does my sister Ana live and work?")

    assert context.keys == ["ana"]
    matched = [e.exchange.message_id for e in context.exchanges]
    assert ids[0] not in matched  # its memory is in the prompt already
    assert ids[2] in matched
    assert context.tokens <= recall.budget_tokens
    block = context.block()
    assert block.index("The user's sister Ana lives in Porto.") < block.index("From past")
    assert "Santo Antonio hospital" in block

    tight = Recall(
        memories, past=index, past_min_score=0.0, budget_tokens=context.memories[0].tokens
    )
    assert tight.recall("Where does my sister Ana live and work?").exchanges == ()


def test_a_turn_recalls_other_conversations_not_its_own_window(
    memories, conversations, tmp_path
) -> None:
    chat(conversations, "My dentist is Dr. Okafor on Baker Street.", "Noted.")
    index = ConversationIndex(memories.store, conversations, NAMESPACE)
    recall = Recall(memories, past=index, past_min_score=0.2)
    recall.index_new()
    model = ScriptedModel(replies=["It is Dr. Okafor.", "On Baker Street."])
    choice = BackendChoice("local", "scripted", "local · scripted", "test", None, "http://x")
    session = ChatSession(conversations, model, choice, Settings(data_dir=tmp_path), recall)
    thread = conversations.create_thread()

    def turn(text: str) -> MemoryContext:
        async def run() -> list:
            return [event async for event in session.send(thread.id, text)]

        events = asyncio.run(run())
        return next(e for e in events if isinstance(e, MemoriesRecalled)).context

    first = turn("Who is my dentist?")
    assert [e.exchange.thread.id for e in first.exchanges] != [thread.id]
    assert len(first.exchanges) == 1
    block = model.prompts[0][-2].content  # the memory block comes just before the message
    assert "Dr. Okafor on Baker Street" in block

    # The turn was indexed after its reply; the next turn does not get its own
    # thread back, for that is in the prompt's history already.
    assert index.cursor() == max(m.id for m in conversations.messages(thread.id))
    second = turn("And which street is my dentist on?")
    assert all(e.exchange.thread.id != thread.id for e in second.exchanges)
    assert len(second.exchanges) == 1


def test_the_runtime_removes_deleted_and_private_conversations_from_search(tmp_path) -> None:
    from assistant.runtime import Runtime

    settings = Settings(data_dir=tmp_path / "data")
    with Runtime(settings) as runtime:
        store = runtime.conversations
        gone = chat(store, "My locker code at the gym is 2468.")
        private = chat(store, "My gym is the one on Elm Street.")
        index = runtime.recall().past
        assert index is not None and index.sync() == 2
        runtime.delete_thread(store.messages_after(gone[0] - 1, 1)[0][0].thread_id)
        runtime.set_incognito(store.messages_after(private[0] - 1, 1)[0][0].thread_id, True)

        assert runtime.memories.store.search(index.items, limit=10) == []


def test_a_reply_still_being_written_waits_and_one_cut_short_long_ago_is_indexed(
    memories, conversations
) -> None:
    from datetime import timedelta

    from assistant.conversations import INTERRUPTED

    thread = conversations.create_thread()
    asked = conversations.add_message(thread.id, "user", "Tell me about Lisbon trams.")
    writing = conversations.add_message(
        thread.id, "assistant", "Tram 28 climbs", status="cancelled", error=INTERRUPTED
    )
    index = ConversationIndex(memories.store, conversations, NAMESPACE)

    assert index.sync() == 1 and index.cursor() == asked.id  # the reply waits for its end
    conversations.update_message(writing.id, "Tram 28 climbs to the castle.", status="complete")
    assert index.sync() == 1
    (hit,) = memories.store.search(index.items, query="tram castle", limit=1)
    assert hit.value["text"] == "Tram 28 climbs to the castle."

    old = datetime.now(UTC) - timedelta(hours=1)
    conversations.add_message(
        thread.id, "assistant", "Cut short by a crash", status="cancelled",
        error=INTERRUPTED, created_at=old,
    )  # fmt: skip
    assert index.sync() == 1  # final as it is


def test_indexing_a_turn_leaves_the_memory_stores_cache_alone(tmp_path) -> None:
    """Conversation search has its own store: writing it at every turn does not
    change the memory store's change token, so recall keeps its cache of pinned
    memories and rules (without it: half a second a turn at 10,000 memories)."""
    from assistant.runtime import Runtime

    settings = Settings(data_dir=tmp_path / "data")
    with Runtime(settings) as runtime:
        recall = runtime.recall()
        assert recall.past is not None and recall.past.store is not runtime.memories.store
        token = runtime.memories.store.change_token
        chat(runtime.conversations, "My flat is on the fourth floor.", "Good exercise!")
        assert recall.index_new() == 2
        assert runtime.memories.store.change_token == token
        assert recall.recall("Which floor do I live on?").exchanges
