"""Sentence splitting: ``split_sentences`` (Wikimedia's sentencex) against the
regular expression it replaced, on the memory evaluation's user messages.

    .venv/bin/python bench/sentences.py

Prints the median time per message of each (microseconds, 7 rounds) and their
ratio, and the messages where the two split differently.
"""

import json
import re
import statistics
import time
from pathlib import Path

from assistant.text import split_sentences

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "memory_eval.json"


def regex_split(text: str) -> list[str]:
    """The old splitter: line breaks, then after ``.``, ``!`` or ``?`` and a space."""
    pieces: list[str] = []
    for line in text.splitlines():
        pieces.extend(re.split(r"(?<=[.!?])\s+(?=\S)", line.strip()))
    return [p.strip() for p in pieces if p.strip()]


def per_message(split, messages: list[str], rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(50):
            for text in messages:
                split(text)
        times.append((time.perf_counter() - started) / (50 * len(messages)))
    return statistics.median(times) * 1e6


def main() -> None:
    scenarios = json.loads(DATA.read_text())["scenarios"]
    messages = [t for s in scenarios for session in s["sessions"] for t in session]
    messages += ["My doctor is Dr. Smith in St. Louis. I see him e.g. monthly, at 9.30 a.m."]
    split_sentences("warm up")
    new, old = per_message(split_sentences, messages), per_message(regex_split, messages)
    print(f"{len(messages)} messages")
    print(f"sentencex  {new:7.1f} us/message")
    print(f"regex      {old:7.1f} us/message   sentencex / regex = {new / old:.2f}x")
    for text in messages:
        if (new_split := split_sentences(text)) != (old_split := regex_split(text)):
            print(f"differs: {text!r}\n  sentencex {new_split}\n  regex     {old_split}")


if __name__ == "__main__":
    main()
