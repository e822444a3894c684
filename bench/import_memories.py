"""Import benchmark: ``memories import`` of N lines into an empty store (issue 18, item 10).

For each size it writes a JSON Lines file of N distinct facts (each line as
``memories export`` writes it) and imports it with
``assistant.memory.transfer.import_lines`` into a fresh embedded store in a
temporary directory, with the real MiniLM embedder, as the CLI does. It prints
the wall time, lines per second and the process's peak RSS growth; with
``--embed-only`` also the time MiniLM alone takes to embed the same texts once
(the floor of any import that indexes every memory).

Usage: .venv/bin/python bench/import_memories.py [--sizes 1000 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from assistant.embeddings import MiniLMEmbeddings
from assistant.memory.repository import Memories
from assistant.memory.schemas import SemanticMemory
from assistant.memory.transfer import FileLines, import_lines
from assistant.store.chroma import ChromaStore

PLACES = ["Lyon", "Porto", "Oslo", "Kyoto", "Quito", "Accra", "Perth", "Cusco"]
THINGS = ["tea", "chess", "jazz", "kayaks", "ferns", "tango", "sushi", "maps"]


def write_file(path: Path, n: int) -> None:
    """N distinct facts as export lines (templated: MiniLM finds some of them twins)."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            place, thing = PLACES[i % len(PLACES)], THINGS[(i // 8) % len(THINGS)]
            fact = f"The user visited {place} in year {1900 + i % 120} and liked {thing} #{i}."
            memory = SemanticMemory(subject="the user", fact=fact)
            out.write(json.dumps({"id": f"k{i:07d}", **memory.to_value()}) + "\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_once(n: int, embedder: MiniLMEmbeddings, verbose: bool = False) -> tuple[float, float]:
    """Seconds and peak-RSS growth (MB) of one import of n lines."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.jsonl"
        write_file(path, n)
        index = {"dims": embedder.dims, "embed": embedder, "fields": ["text"]}
        store = ChromaStore.persistent(Path(tmp) / "memory", index=index, symmetric=True)
        memories = Memories(store, ("memories", "me"))
        before = peak_rss_mb()
        start = time.perf_counter()
        marks: list[tuple[int, float]] = []

        def progress(done: int, total: int) -> None:
            if done * 10 // total > len(marks) - 1 or done == total:
                marks.append((done, time.perf_counter() - start))

        report = import_lines(memories, FileLines(path), progress=progress)
        took = time.perf_counter() - start
        grown = peak_rss_mb() - before
        assert report.added + report.merged == n, report
        if verbose:
            rates = [
                f"{(b[0] - a[0]) / (b[1] - a[1]):.0f}"
                for a, b in itertools.pairwise(marks)
                if b[1] > a[1]
            ]
            print(f"  lines/s by tenth of the file: {' '.join(rates)}", flush=True)
        store.close()
    return took, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="Lines/s by tenth of the file.")
    args = parser.parse_args()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    print(f"machine: {machine}, Python {platform.python_version()}")
    embedder = MiniLMEmbeddings()
    embedder.embed_documents(["warm up"])
    for n in args.sizes:
        runs = [run_once(n, embedder, args.verbose) for _ in range(args.repeat)]
        took = statistics.median(t for t, _ in runs)
        grown = max(g for _, g in runs)
        print(
            f"{n:>7,} lines: median {took:7.1f} s ({n / took:6.0f} lines/s), "
            f"peak RSS growth {grown:5.0f} MB, runs {[round(t, 1) for t, _ in runs]}"
        )
        if args.embed_only:
            texts = [f"The user visited Lyon in year {i} and liked tea #{i}." for i in range(n)]
            start = time.perf_counter()
            embedder.embed_documents(texts)
            print(f"{n:>7,} texts: MiniLM alone {time.perf_counter() - start:7.1f} s")


if __name__ == "__main__":
    main()
