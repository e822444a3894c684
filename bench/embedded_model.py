"""The bundled models on this machine: load, memory, speed by turn and threads,
and plain-question accuracy.

For each installed bundled model (or those named with --models):

- load time (s) and the process's RSS growth (MB) after loading;
- time to first token and decoding speed (tokens/s) at turn 1 and turn 10 of a
  conversation whose prompt carries a full memory block (``ChatSession``'s own
  prompt layout, so llama.cpp's prefix cache works as in the app), with 1 and 2
  decoding threads, while MiniLM embeddings run beside in a thread (what the
  app does while it recalls and indexes);
- plain-question accuracy on tests/data/plain_questions.json (30 questions).

    .venv/bin/python bench/embedded_model.py [--models default,small,tiny] [--quick]

Run it alone: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from pathlib import Path

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.llm import choose_backend, load_chat_model
from assistant.llm.bundled import MODELS, installed
from assistant.memory.recall import MemoryContext, RecalledMemory
from assistant.session import ChatSession

QUESTIONS = Path(__file__).parent.parent / "tests" / "data" / "plain_questions.json"
TURNS = [
    "Hi! I'm planning a trip to Portugal next spring.",
    "Which cities should I visit in a week?",
    "How do I get from Lisbon to Porto?",
    "What food should I try in Porto?",
    "Is it expensive to eat out there?",
    "What is the weather like in April?",
    "Should I rent a car?",
    "Any tips for the Douro valley?",
    "How many days for Lisbon itself?",
    "Summarise the plan in three lines.",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_block() -> MemoryContext:
    """A full recall budget (about 1000 tokens) of memories, different every turn."""
    facts = [f"The user visited city number {i} and liked its museums and food." for i in range(60)]
    return MemoryContext(
        tuple(
            RecalledMemory(f"k{i}", "semantic", t, "similar", 0.5, 16) for i, t in enumerate(facts)
        )
    )


class Embedding(threading.Thread):
    """MiniLM embeddings in a loop, as recall and indexing do beside the model."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        from assistant.embeddings import MiniLMEmbeddings

        self.embedder = MiniLMEmbeddings()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.embedder.embed_documents(["The user lives in Lisbon with a cat."] * 4)
            time.sleep(0.05)  # bursts, as a turn's recall is, not a saturated core


def timed(model, prompt: list[BaseMessage], max_tokens: int) -> tuple[float, float, str]:
    start = time.perf_counter()
    first = None
    parts = []
    for chunk in model.stream(prompt, max_tokens=max_tokens):
        if chunk.text:
            first = first or time.perf_counter()
            parts.append(chunk.text)
    end = time.perf_counter()
    assert first is not None
    speed = (len(parts) - 1) / max(end - first, 1e-6)
    return first - start, speed, "".join(parts)


def turns(settings: Settings, model, *, old_layout: bool = False) -> dict[int, tuple[float, float]]:
    """(first token s, tokens/s) at turns 1 and 10 of one conversation.

    Turns 2 to 8 are said with fixed replies (no generation); turn 9's prompt is
    read (one token generated) so that turn 10 meets the cache the app would
    leave. ``old_layout`` puts the memory block into the system prompt, as before
    issue 14: every turn then differs from the previous one right after it.
    """
    store = ConversationStore(settings.database_path)
    choice = choose_backend(settings)
    session = ChatSession(store, model, choice, settings)
    thread = store.create_thread()
    results = {}
    block = memory_block()
    for number, text in enumerate(TURNS, start=1):
        store.add_message(thread.id, "user", text)
        # The memories change every turn: a different slice of the block.
        context = MemoryContext(block.memories[number : number + 50])
        prompt = session.build_prompt(thread.id, context)
        if old_layout:
            system, *rest = [m for m in prompt if m.text != context.block()]
            prompt = [SystemMessage(f"{system.text}\n\n{context.block()}"), *rest]
        if number in (1, 10):
            first, speed, reply = timed(model, prompt, 48)
            results[number] = (first, speed)
        elif number == 9:
            timed(model, prompt, 1)
            reply = "Noted, here is a short answer about that part of the trip."
        else:
            reply = "Noted, here is a short answer about that part of the trip."
        store.add_message(thread.id, "assistant", reply)
    store.close()
    return results


def accuracy(model) -> tuple[int, int]:
    questions = json.loads(QUESTIONS.read_text())["questions"]
    right = 0
    for item in questions:
        reply = model.invoke([HumanMessage(item["q"])], max_tokens=64).text.lower()
        ok = any(a.lower() in reply for a in item.get("any", [])) or not item.get("any")
        ok = ok and all(a.lower() in reply for a in item.get("all", []))
        right += ok
    return right, len(questions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(m for m in MODELS if installed(MODELS[m])))
    parser.add_argument("--quick", action="store_true", help="skip the accuracy set")
    args = parser.parse_args()
    for name in args.models.split(","):
        data = Path(tempfile.mkdtemp())
        row: dict[str, object] = {"model": name, "title": MODELS[name].title}
        for threads in (1, 2):
            settings = Settings.load(
                data_dir=data, backend="local", local_model=name, local_threads=threads
            )
            before = rss_mb()
            start = time.perf_counter()
            model = load_chat_model(choose_backend(settings), settings)
            model.invoke([HumanMessage("Hi")], max_tokens=1)
            if threads == 1:  # the second load finds the file in the page cache
                row["load_s"] = round(time.perf_counter() - start, 2)
                row["rss_mb"] = round(rss_mb() - before)
            beside = Embedding()
            beside.start()
            try:
                found = turns(settings, model)
            finally:
                beside.stop.set()
                beside.join()
            for turn, (first, speed) in found.items():
                row[f"t{threads}_turn{turn}_first_s"] = round(first, 2)
                row[f"t{threads}_turn{turn}_tok_s"] = round(speed, 1)
            if threads == 2:
                found = turns(settings, model, old_layout=True)
                for turn, (first, _speed) in found.items():
                    row[f"old_layout_turn{turn}_first_s"] = round(first, 2)
            if threads == 2 and not args.quick:
                right, total = accuracy(model)
                row["accuracy"] = f"{right}/{total}"
            del model
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
