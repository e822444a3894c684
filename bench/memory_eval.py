"""Memory evaluation: what reflection keeps from scripted conversations, and
whether recall brings it back.

The evaluation set (``tests/data/memory_eval.json``) holds scenarios, one per
user: conversations told over several sessions, the memories that should come
out of them (found by keywords), facts that should no longer hold, and
questions asked later. For each scenario the script writes the conversations
into a fresh conversation database, reflects with the real memory manager on a
fresh Chroma store, and reports:

- **precision**: of the active memories formed, the share that match an
  expected memory (all its keywords in the memory's text, any case) and hold
  no stale keyword;
- **recall**: the share of expected memories matched by at least one active
  memory; **kind**: of those, the share matched by a memory of the right kind;
- **answered** (evidence recall): the share of questions whose answer is in
  what was recalled at the same token budget, per question type, for the
  memories alone, for a chat turn's recall (memories and conversation search,
  the same ``Recall`` as the app) and for plain retrieval of the user's own
  messages (the baseline);
- **model calls and tokens per conversation** (tokens as the backend reports
  them, else an approximate count), and seconds per reflection;
- the share of memories written by the **safety net** (the user's own words
  kept when the model missed a behaviour request or a self-disclosure) rather
  than by the model.

It runs twice over the same conversations: **debounced** (one reflection per
conversation, when it goes quiet: what the app does) and **per-message** (a
reflection after every user message, what extract-on-every-turn designs do), and
gives the ratio of their model calls and tokens.

The backend is chosen as the app does (``--backend auto|ollama|local``,
``--model``: an Ollama model or a ``.gguf`` path), so the same command runs
against the embedded model and Ollama. Nothing is written outside a temporary
directory.

Usage: .venv/bin/python bench/memory_eval.py [--backend local] [--model NAME]
    [--modes debounced per-message] [--scenarios ID ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "memory_eval.json"
Mode = Literal["debounced", "per-message"]


class Expected(BaseModel):
    """A memory that should exist: its kind and the words it must hold."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["semantic", "episodic", "procedural"]
    keywords: list[str] = Field(min_length=1)


QuestionType = Literal["fact", "preference", "experience", "coreference", "temporal", "change"]


class Question(BaseModel):
    """A question asked later, the words its answer holds, and what it tests:
    a plain ``fact``, a ``preference`` (a rule), an ``experience``, a
    ``coreference`` (the answer needs what "it" or "she" refers to), a
    ``temporal`` one (when), or a ``change`` of fact (the current value)."""

    model_config = ConfigDict(extra="forbid")
    question: str
    answer: list[str] = Field(min_length=1)
    type: QuestionType = "fact"


class Scenario(BaseModel):
    """One user's conversations (a session is one conversation, a list of user
    messages), with the day each session took place (``dates``, ISO, one per
    session; default: today)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    sessions: list[list[str]] = Field(min_length=1)
    dates: list[date] | None = None
    expected: list[Expected]
    stale: list[list[str]] = []
    questions: list[Question] = []

    @model_validator(mode="after")
    def _one_date_per_session(self) -> Scenario:
        if self.dates is not None and len(self.dates) != len(self.sessions):
            raise ValueError(
                f"{self.id}: {len(self.dates)} dates for {len(self.sessions)} sessions"
            )
        return self


class EvalSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    about: str
    scenarios: list[Scenario] = Field(min_length=1)


def load_eval_set(path: Path = DATA) -> EvalSet:
    """Read and validate the evaluation set (raises ``pydantic.ValidationError``)."""
    return EvalSet.model_validate_json(path.read_text(encoding="utf-8"))


def relative(keyword: str, today: date | None = None) -> str:
    """A keyword with ``{last_year}`` and ``{last_month}`` filled in for ``today``."""
    today = today or date.today()
    month = today.replace(day=1) - timedelta(days=1)
    last = {"last_year": str(today.year - 1), "last_month": f"{month:%B %Y}"}
    return keyword.format(**last) if "{" in keyword else keyword


def holds(text: str, keywords: Sequence[str]) -> bool:
    """Whether every keyword occurs in ``text``, ignoring case (relative dates filled in)."""
    lowered = text.lower()
    return all(relative(k).lower() in lowered for k in keywords)


@dataclass
class Score:
    """How one scenario (or all of them, summed) went in one mode."""

    formed: int = 0  # active memories at the end
    correct: int = 0  # of those, matching an expected one and holding nothing stale
    expected: int = 0
    found: int = 0  # expected memories matched
    right_kind: int = 0  # expected memories matched by a memory of their kind
    questions: int = 0
    answered: int = 0  # by the memories alone
    answered_recall: int = 0  # by a turn's recall: memories and conversation search
    answered_plain: int = 0  # by plain retrieval of the user's messages, same budget
    by_type: dict[str, int] = field(default_factory=dict)  # "type condition" -> answered
    conversations: int = 0
    reflections: int = 0
    failed: int = 0
    model_calls: int = 0
    tokens: int = 0
    written: int = 0  # memories created or updated
    by_safety_net: int = 0  # of those, from the safety net rather than the model
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name, value in vars(other).items():
            if isinstance(value, dict):
                merged = Counter(getattr(self, name)) + Counter(value)
                setattr(self, name, dict(merged))
            else:
                setattr(self, name, getattr(self, name) + value)

    def count(self, key: str, hit: bool = True) -> None:
        """Add ``hit`` to the per-type tally ``key`` ("temporal plain")."""
        self.by_type[key] = self.by_type.get(key, 0) + int(hit)

    @staticmethod
    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    def summary(self) -> dict[str, float]:
        per = max(self.conversations, 1)
        return {
            "precision": self.share(self.correct, self.formed),
            "recall": self.share(self.found, self.expected),
            "kind": self.share(self.right_kind, self.found),
            "answered": self.share(self.answered, self.questions),
            "answered_recall": self.share(self.answered_recall, self.questions),
            "answered_plain": self.share(self.answered_plain, self.questions),
            "calls_per_conversation": self.model_calls / per,
            "tokens_per_conversation": self.tokens / per,
            "seconds_per_reflection": statistics.median(self.seconds) if self.seconds else 0.0,
            "safety_net_share": self.share(self.by_safety_net, self.written),
            "failed": float(self.failed),
        }


def score_memories(
    scenario: Scenario, texts: Sequence[tuple[str, str]], score: Score | None = None
) -> Score:
    """Score the active memories ``texts`` (``(kind, text)`` pairs) against the scenario."""
    score = score or Score()
    score.formed += len(texts)
    score.expected += len(scenario.expected)
    for kind, text in texts:
        stale = any(holds(text, words) for words in scenario.stale)
        if not stale and any(holds(text, e.keywords) for e in scenario.expected):
            score.correct += 1
        else:
            score.wrong.append(f"{scenario.id}: [{kind}] {text}")
    for expected in scenario.expected:
        matching = [kind for kind, text in texts if holds(text, expected.keywords)]
        if matching:
            score.found += 1
            score.right_kind += expected.kind in matching
        else:
            score.misses.append(f"{scenario.id}: [{expected.kind}] {' + '.join(expected.keywords)}")
    return score


def session_time(day: date, minute: int) -> datetime:
    """When the ``minute``-th message of a session on ``day`` was written (from noon UTC)."""
    return datetime.combine(day, clock(12, tzinfo=UTC)) + timedelta(minutes=minute)


def score_hit(recalled: Sequence[Any], question: Question) -> bool:
    """Whether one of the recalled memories or exchanges (each with a ``text``)
    holds the whole answer."""
    return any(holds(item.text, question.answer) for item in recalled)


def plain_retrieval(index: Any, query: str, budget_tokens: int) -> list[str]:
    """The baseline: the user's own past messages nearest to ``query`` (the same
    embedder and store as conversation search), best first, as many as fit
    ``budget_tokens``."""
    from assistant.memory.recall import approximate_tokens

    hits = index.store.search(index.items, query=query, filter={"role": "user"}, limit=50)
    texts, spent = [], 0
    for hit in hits:
        tokens = approximate_tokens(hit.value["text"])
        if spent + tokens <= budget_tokens:
            texts.append(hit.value["text"])
            spent += tokens
    return texts


def run_scenario(
    scenario: Scenario, mode: Mode, model: Any, index: Any, workdir: Path, budget_tokens: int
) -> Score:
    """Tell the scenario's conversations, reflect in ``mode``, score, then ask its questions."""
    from assistant.conversations import ConversationStore
    from assistant.memory.conversation_search import ConversationIndex
    from assistant.memory.recall import Recall
    from assistant.memory.repository import Memories
    from assistant.reflection.manager import MemoryManager
    from assistant.store.chroma import ChromaStore

    where = workdir / mode / scenario.id
    name = index["embed"].name
    chroma = ChromaStore.persistent(where / "memory", index=index, embedder_name=name)
    conversations = ConversationStore(where / "conversations.sqlite3")
    memories = Memories(chroma, ("memories", scenario.id))
    manager = MemoryManager(model, memories, conversations)
    score = Score()

    def reflect(thread_id: str) -> None:
        started = time.perf_counter()
        result = manager.reflect(thread_id)
        score.seconds.append(time.perf_counter() - started)
        score.reflections += 1
        score.model_calls += result.model_calls
        score.tokens += result.tokens
        score.failed += result.status == "failed"
        for change in result.changes:
            if change.op in ("create", "update"):
                score.written += 1
                score.by_safety_net += change.origin == "safety net"
        if result.status == "failed":
            print(f"  {scenario.id}: reflection failed: {result.error}", file=sys.stderr)

    try:
        for number, session in enumerate(scenario.sessions, 1):
            thread = conversations.create_thread(f"{scenario.id} #{number}")
            score.conversations += 1
            day = scenario.dates[number - 1] if scenario.dates else None
            for minute, text in enumerate(session):
                when = None if day is None else session_time(day, minute)
                conversations.add_message(thread.id, "user", text, created_at=when)
                conversations.add_message(thread.id, "assistant", "OK.", created_at=when)
                if mode == "per-message":
                    reflect(thread.id)
            if mode == "debounced":
                reflect(thread.id)
        active = [
            (stored.kind, stored.text)
            for kind in ("semantic", "episodic", "procedural")
            for stored in memories.listing(kind)
            if stored.memory.active
        ]
        score_memories(scenario, active, score)
        index = ConversationIndex(chroma, conversations, ("conversations", scenario.id))
        index.sync()
        alone = Recall(memories, budget_tokens=budget_tokens)
        turn = Recall(memories, budget_tokens=budget_tokens, past=index)
        for question in scenario.questions:
            full = turn.recall(question.question)
            hits = {
                "memories": score_hit(alone.recall(question.question).memories, question),
                "recall": score_hit([*full.memories, *full.exchanges], question),
                "plain": any(
                    holds(text, question.answer)
                    for text in plain_retrieval(index, question.question, budget_tokens)
                ),
            }
            score.questions += 1
            score.answered += hits["memories"]
            score.answered_recall += hits["recall"]
            score.answered_plain += hits["plain"]
            score.count(f"{question.type} questions")
            for condition, found in hits.items():
                score.count(f"{question.type} {condition}", found)
    finally:
        chroma.close()
        conversations.close()
    return score


def print_evidence(totals: dict[str, Score]) -> None:
    """Evidence recall per question type: the share of questions whose answer is in
    what was recalled, for the memories alone, a turn's recall (memories and
    conversation search) and plain retrieval of the user's messages, at one budget."""
    conditions = ("memories", "recall", "plain")
    print(
        "\n| mode | question type | questions | memories alone "
        "| recall (memories + conversation search) | plain message retrieval |"
    )
    print("|---|---|---|---|---|---|")
    for mode, total in totals.items():
        types = sorted({key.split()[0] for key in total.by_type})
        for kind in [*types, "all"]:
            if kind == "all":
                asked = total.questions
                got = [total.answered, total.answered_recall, total.answered_plain]
            else:
                asked = total.by_type.get(f"{kind} questions", 0)
                got = [total.by_type.get(f"{kind} {c}", 0) for c in conditions]
            cells = " | ".join(f"{Score.share(n, asked):.2f} ({n}/{asked})" for n in got)
            print(f"| {mode} | {kind} | {asked} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="local", choices=["auto", "ollama", "local"])
    parser.add_argument(
        "--model", help="default, small or tiny (bundled), an Ollama model, or a .gguf file"
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["debounced", "per-message"],
        choices=["debounced", "per-message"],
    )
    parser.add_argument("--scenarios", nargs="+", help="only these scenario ids")
    parser.add_argument("--data", type=Path, default=DATA, help="the evaluation set")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--verbose", action="store_true", help="list misses and wrong memories")
    args = parser.parse_args()

    from assistant.cli.app import model_overrides
    from assistant.config import Settings
    from assistant.embeddings import load_embedder
    from assistant.llm import choose_backend, load_chat_model

    eval_set = load_eval_set(args.data)
    scenarios = [s for s in eval_set.scenarios if not args.scenarios or s.id in args.scenarios]
    with tempfile.TemporaryDirectory(prefix="memory-eval-") as tmp:
        workdir = Path(tmp)
        given = {"backend": args.backend, **model_overrides(args.model)}
        settings = Settings.load(data_dir=workdir / "data", **given)
        choice = choose_backend(settings)
        if choice.notice:
            print(f"note: {choice.notice}", file=sys.stderr)
        model = load_chat_model(choice, settings)
        embedder: Any = load_embedder(settings)
        index = {"dims": embedder.dims, "embed": embedder, "fields": ["text"]}
        print(f"# memory eval: {choice.label} ({choice.reason}); embedder {embedder.name}")
        print(f"# {len(scenarios)} scenarios, {platform.machine()} {platform.python_version()}")
        results: dict[str, Any] = {"backend": choice.label, "modes": {}}
        totals: dict[str, Score] = {}
        for mode in args.modes:
            total = Score()
            for scenario in scenarios:
                score = run_scenario(
                    scenario, mode, model, index, workdir, settings.recall_budget_tokens
                )
                total.add(score)
                line = score.summary()
                print(
                    f"{mode:<12} {scenario.id:<20} precision {line['precision']:.2f}  "
                    f"recall {line['recall']:.2f}  answered {line['answered']:.2f}  "
                    f"calls {score.model_calls}  tokens {score.tokens}"
                )
            totals[mode] = total
            results["modes"][mode] = {**total.summary(), **asdict(total)}
        print()
        print(
            "| mode | precision | recall | right kind | questions answered "
            "| model calls / conversation | tokens / conversation | s / reflection "
            "| written by the safety net |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for mode, total in totals.items():
            s = total.summary()
            print(
                f"| {mode} | {s['precision']:.2f} ({total.correct}/{total.formed}) "
                f"| {s['recall']:.2f} ({total.found}/{total.expected}) "
                f"| {s['kind']:.2f} | {s['answered']:.2f} ({total.answered}/{total.questions}) "
                f"| {s['calls_per_conversation']:.1f} | {s['tokens_per_conversation']:.0f} "
                f"| {s['seconds_per_reflection']:.1f} "
                f"| {s['safety_net_share']:.2f} ({total.by_safety_net}/{total.written}) |"
            )
        print_evidence(totals)
        if {"debounced", "per-message"} <= totals.keys():
            fast, slow = totals["debounced"], totals["per-message"]
            calls = slow.model_calls / max(fast.model_calls, 1)
            tokens = slow.tokens / max(fast.tokens, 1)
            print(f"\nper-message / debounced: {calls:.1f}x model calls, {tokens:.1f}x tokens")
            results["ratio"] = {"model_calls": calls, "tokens": tokens}
        if args.verbose:
            for mode, total in totals.items():
                print(f"\n{mode}: missed {len(total.misses)}, wrong {len(total.wrong)}")
                for line in total.misses:
                    print(f"  missed  {line}")
                for line in total.wrong:
                    print(f"  wrong   {line}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
