"""Background reflection benchmark: UI event-loop lag while a reflection runs with
the embedded model, against the same app idle, in one run; and quit latency with
a reflection pending and with one running.

The real app runs headless (``App.run_test``) with the real embedded model, the
real memory store (embedded Chroma, MiniLM) and the real scheduler on a fresh
data dir. A 10 ms interval timer on the app records when each tick fires; the
gap between two ticks is the event loop's responsiveness (a gap of 10 ms is a
free loop). Gaps are measured for ``--idle`` seconds with nothing running, then
while the scheduler reflects on ``--threads`` conversations one after another
(each has six user sentences, so each reflection is one model call of about 800
tokens). Quit latency: from ``App.exit()`` until ``run_test`` returns, with a
reflection job pending (due in ten minutes) and with one running (the model
decoding).

Usage: .venv/bin/python bench/reflection_lag.py [--idle 5] [--threads 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.runtime import Runtime
from tui.app import AssistantApp

TICK = 0.01
SENTENCES = [
    "My dog's name is Fido and he is three years old.",
    "I live in Lyon with my partner Sam.",
    "I work as a nurse at the city hospital.",
    "From now on, please answer in short paragraphs.",
    "Last week I ran my first half marathon.",
    "I am allergic to peanuts.",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def describe(name: str, gaps: list[float]) -> str:
    ms = [g * 1000 for g in gaps]
    return (
        f"{name:<22} ticks {len(ms):>5}   gap median {statistics.median(ms):6.1f} ms"
        f"   p99 {percentile(ms, 99):6.1f} ms   max {max(ms):6.1f} ms"
    )


class Ticks:
    """Tick times of a 10 ms interval timer, kept while ``recording``."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.recording = False

    def tick(self) -> None:
        if self.recording:
            self.times.append(time.perf_counter())

    def take(self) -> list[float]:
        times, self.times = self.times, []
        return [b - a for a, b in pairwise(times)]


async def wait_until(pilot, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.05)


async def measure_lag(settings: Settings, threads: list[str], idle: float) -> dict:
    app = AssistantApp(Runtime(settings))
    ticks = Ticks()
    results: dict = {}
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.scheduler is not None, 120)
        app.set_interval(TICK, ticks.tick)
        await pilot.pause(1.0)
        ticks.recording = True
        await asyncio.sleep(idle)
        results["idle"] = ticks.take()
        scheduler = app.scheduler
        assert scheduler is not None
        started = time.perf_counter()
        for thread_id in threads:
            scheduler.submit(thread_id, after_seconds=0)
        await wait_until(pilot, lambda: scheduler.running is not None, 60)

        def done() -> bool:
            waiting = {job.thread_id for job in scheduler.pending()}
            return scheduler.running is None and waiting.isdisjoint(threads)

        await wait_until(pilot, done, 600)
        results["reflecting"] = ticks.take()
        results["reflection_seconds"] = time.perf_counter() - started
        ticks.recording = False
    app.runtime.close()
    return results


async def measure_quit(settings: Settings, thread_id: str, running: bool) -> float:
    app = AssistantApp(Runtime(settings))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.scheduler is not None, 120)
        scheduler = app.scheduler
        assert scheduler is not None
        if running:
            scheduler.submit(thread_id, after_seconds=0)
            await wait_until(pilot, lambda: scheduler.running is not None, 60)
            await asyncio.sleep(1.0)  # well into the model call
        else:
            scheduler.submit(thread_id, after_seconds=600)
        quitting = time.perf_counter()
        app.exit()
    seconds = time.perf_counter() - quitting
    if not app.left_running:  # else the reflection still has the store
        app.runtime.close()
    return seconds


def conversations(settings: Settings, count: int) -> list[str]:
    store = ConversationStore(settings.database_path)
    ids = []
    for n in range(count):
        thread = store.create_thread(f"About me {n}")
        for sentence in SENTENCES:
            store.add_message(thread.id, "user", sentence)
            store.add_message(thread.id, "assistant", "Noted.")
        ids.append(thread.id)
    store.close()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle ticks")
    parser.add_argument("--threads", type=int, default=3, help="conversations to reflect on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(
            data_dir=Path(tmp) / "data", backend="local", reflection_delay_seconds=3600
        )
        threads = conversations(settings, args.threads + 2)
        lag = asyncio.run(measure_lag(settings, threads[: args.threads], args.idle))
        pending = asyncio.run(measure_quit(settings, threads[-2], running=False))
        running = asyncio.run(measure_quit(settings, threads[-1], running=True))
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(describe("idle", lag["idle"]))
    print(describe("reflecting", lag["reflecting"]))
    idle_p99 = percentile(lag["idle"], 99)
    print(f"p99 ratio reflecting/idle: {percentile(lag['reflecting'], 99) / idle_p99:.2f}")
    print(f"{args.threads} reflections took {lag['reflection_seconds']:.1f} s")
    print(f"quit with a reflection pending: {pending * 1000:.0f} ms")
    print(f"quit with a reflection running: {running * 1000:.0f} ms")


if __name__ == "__main__":
    main()
