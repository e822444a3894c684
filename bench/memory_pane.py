"""Memory pane benchmark: how fast the pane opens and searches with 10,000 memories.

It fills a data dir with ``--memories`` memories (default 10,000, the synthetic
mix of bench/recall.py, every text embedded by the real MiniLM embedder; or
reuses ``--data-dir`` when it holds them already), runs the app headless
(Textual's ``run_test``, 120x36, a fake chat model: the pane does not use it)
and times, ``--runs`` times each:

- **first rows**: from the F3 action to the table holding its first rows (the
  first page read from Chroma, laid out); the pane is usable from then on;
- **longest stall while loading**: from the first rows until every memory is
  loaded, the longest the event loop went without running (a 1 ms sleep, polled
  in a loop): how long a key press could wait while the rest loads in the
  worker thread;
- **all loaded**: until every memory is read and the table re-sorted;
- **search**: from a query (what the search box runs after its 250 ms typing
  pause) to its results in the table; the first search, which starts the ONNX
  session of the embedder, is reported apart.

The pane is closed and opened again between runs; the first open (cold Chroma
caches) is reported apart from the median.

Usage: .venv/bin/python bench/memory_pane.py [--memories 10000] [--runs 7] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings
from assistant.llm import BackendChoice
from assistant.memory.factory import open_memories
from assistant.memory.repository import new_key
from assistant.runtime import Runtime
from bench.recall import synthetic
from tui.app import AssistantApp
from tui.screens.memories import MemoryScreen

QUERIES = [
    "where does my sister live",
    "chess",
    "trip plan in Porto",
    "Anna Lyon",
    "what does my manager like",
    "opera",
    "Kira's advice",
    "gardening with my cousin",
]


def fill(settings: Settings, count: int) -> float:
    """Write ``count`` synthetic memories (seconds taken); nothing if they are there."""
    memories = open_memories(settings)
    try:
        if memories.listing("semantic", limit=1):
            return 0.0
        rng = random.Random(7)
        started = time.perf_counter()
        batch = []
        for i in range(count):
            batch.append(memories.put_op(new_key(), synthetic(i, rng)))
            if len(batch) == 500:
                memories.store.batch(batch)
                batch = []
        if batch:
            memories.store.batch(batch)
        return time.perf_counter() - started
    finally:
        memories.close()


async def until(condition, timeout: float = 60.0) -> float:
    """Seconds until ``condition()`` holds, polled every millisecond on the loop."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the pane did not get there")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def measure(settings: Settings, runs: int) -> dict[str, list[float]]:
    choice = BackendChoice("local", "fake", "fake · fake", "bench", None, "http://x")
    model = GenericFakeChatModel(messages=iter([AIMessage("unused")]))
    app = AssistantApp(Runtime(settings, backend_loader=lambda s: (choice, model)))
    found: dict[str, list[float]] = {"first": [], "gap": [], "all": [], "idle": [], "search": []}
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.session is not None and not app.workers)
        for _ in range(runs):
            started = time.perf_counter()
            app.chat.action_memories()
            await until(lambda: isinstance(app.screen, MemoryScreen))
            screen = app.screen
            assert isinstance(screen, MemoryScreen)
            table = screen.browser
            await until(lambda: table.row_count > 0)  # noqa: B023
            found["first"].append(time.perf_counter() - started)
            gaps = []
            while not screen.browser.catalog.complete:
                tick = time.perf_counter()
                await asyncio.sleep(0.001)
                gaps.append(time.perf_counter() - tick - 0.001)
            found["gap"].append(max(gaps, default=0.0))
            found["all"].append(time.perf_counter() - started)
            gaps = []
            idle = time.perf_counter()
            while time.perf_counter() - idle < 1.5:
                tick = time.perf_counter()
                await asyncio.sleep(0.001)
                gaps.append(time.perf_counter() - tick - 0.001)
            found["idle"].append(max(gaps))
            screen.dismiss()
            await until(lambda: not isinstance(app.screen, MemoryScreen))
        app.chat.action_memories()
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        await until(lambda: screen.browser.catalog.complete)
        search = screen.query_one("#memory-search")
        for query in QUERIES * 2:
            search.value = query  # type: ignore[attr-defined]
            await pilot.pause()  # the typing pause's timer is started; run at once instead
            started = time.perf_counter()
            screen.browser.search(query)
            await until(lambda: screen.browser.searched == query)  # noqa: B023
            found["search"].append(time.perf_counter() - started)
    app.runtime.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pane-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        settings = Settings.load(data_dir=data_dir, backend="local")
        seconds = fill(settings, args.memories)
        found = asyncio.run(measure(settings, args.runs))

    def ms(values: list[float]) -> str:
        rest = sorted(v * 1000 for v in values)
        return f"median {statistics.median(rest):.0f} ms (min {rest[0]:.0f}, max {rest[-1]:.0f})"

    print(f"# {args.memories} memories (filled in {seconds:.0f} s), {args.runs} opens")
    print(f"# {platform.machine()}, Python {platform.python_version()}")
    print(f"first open (cold): first rows {found['first'][0] * 1000:.0f} ms")
    print(f"first rows:  {ms(found['first'][1:])}")
    print(f"longest event-loop stall while the rest loads: {ms(found['gap'][1:])}")
    print(f"all loaded:  {ms(found['all'][1:])}")
    print(f"longest stall in 1.5 s with the pane loaded and idle: {ms(found['idle'][1:])}")
    print(f"first search (starts the embedder): {found['search'][0] * 1000:.0f} ms")
    print(f"search:      {ms(found['search'][1:])}")


if __name__ == "__main__":
    main()
