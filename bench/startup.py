"""Startup benchmark: launch to first full screen in a real terminal (tmux).

Runs `assistant` alone (no arguments: the data dir and the embedded backend are
given in the environment, a fresh data dir each run) and a minimal
Textual app (bench/floor_app.py, the floor) alternately, N times each. Each run
polls `tmux capture-pane` every 5 ms from the moment tmux starts the command
until the complete first screen is drawn, then quits with Ctrl+Q and reads the
peak RSS of the process tree.

Usage: .venv/bin/python bench/startup.py [--runs 7]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSISTANT = str(Path(sys.executable).with_name("assistant"))


def one_run(command: list[str], ready: tuple[str, ...]) -> tuple[float, float]:
    """Seconds to the first screen that shows every string of ``ready``; peak RSS in MiB."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        wrapped = [sys.executable, str(HERE / "rss.py"), str(rss_file), *command]
        start = time.perf_counter()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "120",
                "-y",
                "36",
                "env",
                "TERM=xterm-256color",
                *wrapped,
            ],
            check=True,
        )
        while True:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True
            ).stdout
            if all(part in screen for part in ready):
                elapsed = time.perf_counter() - start
                break
            if time.perf_counter() - start > 60:
                raise RuntimeError(f"no full screen after 60 s:\n{screen}")
            time.sleep(0.005)
        time.sleep(0.5)  # let the screen settle (the model loads meanwhile) before quitting
        subprocess.run(["tmux", "send-keys", "-t", name, "C-q"], check=True)
        deadline = time.monotonic() + 20
        while not rss_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        rss = float(rss_file.read_text()) if rss_file.exists() else float("nan")
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    results: dict[str, list[tuple[float, float]]] = {"floor": [], "assistant": []}
    for _ in range(args.runs):
        results["floor"].append(
            one_run([sys.executable, str(HERE / "floor_app.py")], ("floor app ready", "palette"))
        )
        with tempfile.TemporaryDirectory() as data:
            results["assistant"].append(
                one_run(  # `assistant` alone, as people start it
                    ["env", f"ASSISTANT_DATA_DIR={data}", "ASSISTANT_BACKEND=local", ASSISTANT],
                    ("Start typing below", "Message (Enter sends)", "palette"),
                )
            )
    floor = statistics.median(t for t, _ in results["floor"])
    print(f"runs: {args.runs} each, interleaved")
    for name, runs in results.items():
        times = sorted(t for t, _ in runs)
        median = statistics.median(times)
        rss = statistics.median(r for _, r in runs)
        print(
            f"{name:<10} first screen median {median * 1000:6.0f} ms "
            f"(min {times[0] * 1000:.0f}, max {times[-1] * 1000:.0f})  "
            f"peak RSS {rss:6.1f} MiB  ratio {median / floor:.2f}x"
        )


if __name__ == "__main__":
    main()
