"""Recall benchmark: the per-turn overhead of recall and prompt building.

It fills a fresh embedded store with ``--memories`` memories (default 10,000:
synthetic facts and experiences, 40 rules, 10 pinned facts, every text embedded
by the real MiniLM embedder), opens a conversation with 20 earlier messages, and
times what a chat turn does before the model is called
(``ChatSession.recall_memories`` then ``ChatSession.build_prompt``): embed the
message and the recent turns, search semantic and episodic memories, read the
always-recalled ones (cached on the store's change token), trim to the token
budget, format the fenced block, read and trim the history. The chat model is
not called. The first turn (cold cache) is reported apart from the median.

With ``--messages N`` (default 50,000) the conversation database also holds N
past messages (threads of 20, user and assistant), all indexed for conversation
search, and every turn is timed twice in the same run, with and without
conversation search, for the ratio; indexing a turn after its reply (off the
next turn's path) is timed apart.

Usage: .venv/bin/python bench/recall.py [--memories 10000] [--messages 50000] [--turns 100]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.config import Settings
from assistant.conversations import ConversationStore, ImportedThread
from assistant.llm import BackendChoice
from assistant.memory.factory import build_recall, open_search_store, open_store
from assistant.memory.repository import Memories, new_key
from assistant.memory.schemas import (
    AnyMemory,
    EpisodicMemory,
    ProceduralMemory,
    SemanticMemory,
)
from assistant.session import ChatSession

PEOPLE = [
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Mia",
    "Noah",
]
RELATIONS = [
    "sister",
    "brother",
    "friend",
    "colleague",
    "neighbour",
    "cousin",
    "manager",
    "teacher",
]
CITIES = [
    "Lyon",
    "Porto",
    "Berlin",
    "Denver",
    "Osaka",
    "Lima",
    "Cairo",
    "Oslo",
    "Quebec",
    "Madrid",
    "Turin",
    "Ghent",
]
THINGS = [
    "tea",
    "cycling",
    "jazz",
    "chess",
    "pottery",
    "hiking",
    "sushi",
    "sailing",
    "opera",
    "gardening",
]
VERBS = ["likes", "hates", "collects", "studies", "teaches", "plays"]
QUESTIONS = [
    "What should I cook for my sister tonight?",
    "Where does my brother live again?",
    "Can you plan a weekend in Porto?",
    "Remind me what my colleague likes.",
    "Which books would my friend enjoy?",
    "How do I get better at chess?",
    "Suggest a gift for my neighbour.",
    "What did we decide about the trip to Berlin?",
]


def synthetic(i: int, rng: random.Random) -> AnyMemory:
    """A varied memory: mostly facts, some experiences, a few rules and pins."""
    person, relation = rng.choice(PEOPLE), rng.choice(RELATIONS)
    city, thing = rng.choice(CITIES), rng.choice(THINGS)
    if i < 40:
        return ProceduralMemory(rule=f"When {thing} comes up, mention {person}'s advice ({i}).")
    if i % 5 == 0:
        return EpisodicMemory(
            situation=f"The user asked about {thing} in {city} for their {relation}.",
            action=f"Suggested a plan with {person}.",
            outcome=f"It worked out on attempt {i}.",
            lesson=f"Mention {thing} early.",
        )
    fact = f"The user's {relation} {person} lives in {city} and {rng.choice(VERBS)} {thing} ({i})."
    return SemanticMemory(subject=f"the user's {relation}", fact=fact, pinned=i < 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
        root = Path(tmp)
        settings = Settings.load(data_dir=root / "data", backend="local")
        chroma = open_store(settings)  # the app's own: MiniLM, batched and kept query vectors
        memories = Memories(chroma, ("memories", "me"))
        started = time.perf_counter()
        batch = []
        for i in range(args.memories):
            batch.append(memories.put_op(new_key(), synthetic(i, rng)))
            if len(batch) == 500:
                chroma.batch(batch)
                batch = []
        if batch:
            chroma.batch(batch)
        fill = time.perf_counter() - started

        store = ConversationStore(settings.database_path)
        started = time.perf_counter()
        store.import_threads(list(past_threads(args.messages, rng)))
        search = open_search_store(settings, memories)
        with_search = build_recall(settings, memories, store, search)
        indexed = with_search.index_new()
        index_fill = time.perf_counter() - started
        alone = build_recall(settings, memories)
        thread = store.create_thread()
        for n in range(10):
            store.add_message(thread.id, "user", f"{rng.choice(QUESTIONS)} ({n})")
            store.add_message(thread.id, "assistant", "Here is what I suggest. " * 20)
        choice = BackendChoice("local", "none", "none", "bench", None, "http://x")
        model = GenericFakeChatModel(messages=iter([AIMessage("unused")]))
        sessions = {
            "memories alone": ChatSession(store, model, choice, settings, alone),
            "with conversation search": ChatSession(store, model, choice, settings, with_search),
        }
        timings: dict[str, list[float]] = {name: [] for name in sessions}
        sizes, used, exchanges, indexing = [], [], [], []
        for turn in range(args.turns + 1):
            text = f"{QUESTIONS[turn % len(QUESTIONS)]} (turn {turn})"
            message = store.add_message(thread.id, "user", text)
            for n, (name, session) in enumerate(sessions.items()):
                asked = f"{text} ({n})"  # each session embeds its own query, none reuses
                t0 = time.perf_counter()
                context = session.recall_memories(thread.id, asked)
                prompt = session.build_prompt(thread.id, context)
                timings[name].append(time.perf_counter() - t0)
                assert prompt and message
            sizes.append(context.tokens)
            used.append(len(context.memories))
            exchanges.append(len(context.exchanges))
            store.add_message(thread.id, "assistant", "OK, here it is.", memories_used=context.keys)
            t0 = time.perf_counter()
            with_search.index_new(16)  # what a turn does after its reply
            indexing.append(time.perf_counter() - t0)
        search.close()
        chroma.close()
        store.close()

    print(f"# {args.memories} memories (filled in {fill:.0f} s), {args.messages} past messages")
    print(f"# ({indexed} indexed in {index_fill:.0f} s), {args.turns} turns")
    print(f"# {platform.machine()}, {platform.python_version()}, embedder {chroma.embedder[0]}")
    medians = {}
    for name, values in timings.items():
        first, ms = values[0] * 1000, sorted(t * 1000 for t in values[1:])
        medians[name] = statistics.median(ms)
        print(
            f"{name}: recall + build_prompt median {medians[name]:.1f} ms, "
            f"p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms "
            f"(first turn, cold cache: {first:.1f} ms)"
        )
    extra = medians["with conversation search"] - medians["memories alone"]
    ratio = medians["with conversation search"] / medians["memories alone"]
    print(f"conversation search adds {extra:.1f} ms a turn ({ratio:.2f}x)")
    print(
        f"indexing a turn after its reply: median {statistics.median(indexing[1:]) * 1000:.1f} ms"
    )
    print(
        f"per turn: memories median {statistics.median(used):.0f}, past exchanges median "
        f"{statistics.median(exchanges):.0f}, tokens median {statistics.median(sizes):.0f} "
        f"(budget {settings.recall_budget_tokens})"
    )


def past_threads(count: int, rng: random.Random) -> Iterator[ImportedThread]:
    """``count`` past messages in threads of 20 (user and assistant in turn), dated
    over the last year, as an import writes them."""
    start = datetime.now(UTC) - timedelta(days=365)
    for number in range(0, count, 20):
        messages = []
        for i in range(min(20, count - number)):
            person, city, thing = rng.choice(PEOPLE), rng.choice(CITIES), rng.choice(THINGS)
            when = start + timedelta(minutes=number * 10 + i)
            if i % 2 == 0:
                text = f"My {rng.choice(RELATIONS)} {person} went to {city} for {thing} ({number})."
                messages.append(("user", text, when))
            else:
                text = f"That sounds lovely. {city} is a good place for {thing}. " * 3
                messages.append(("assistant", text.strip(), when))
        yield ImportedThread(f"past{number:08d}", f"About {thing}", tuple(messages))


if __name__ == "__main__":
    main()
