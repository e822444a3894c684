"""Quit benchmark: from Ctrl+Q to the end of the process, in a real terminal (tmux).

What a person feels is the shell prompt coming back, so the clock stops when the
process has ended: tmux runs ``sh -c 'COMMAND; date +%s.%N > FILE'`` and the end
is the time ``date`` writes, against the time just before ``tmux send-keys C-q``.
Three states of `assistant` (the embedded backend with the configured bundled
model, replies of up to 2000 tokens, a fresh data dir each run) are measured
against the floor,
a minimal Textual app (bench/floor_app.py), interleaved, N runs each:

- ``idle``: the model loaded, nothing running;
- ``reply``: a reply streaming (the first tokens are on screen);
- ``reflection``: a reflection running (asked for with /reflect).

Usage: .venv/bin/python bench/quit.py [--runs 7] [--states idle,reply,reflection]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSISTANT = str(Path(sys.executable).with_name("assistant"))
LONG = "Write a long story about a lighthouse keeper and the sea, in many chapters."


class Pane:
    """One tmux session of 120x36 whose command writes its end time to a file."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        self._tmp = tempfile.TemporaryDirectory()
        self.ended = Path(self._tmp.name) / "ended"
        quoted = " ".join(f"'{part}'" for part in command)
        script = f"{quoted}; date +%s.%N > '{self.ended}'"
        assignments = [f"{key}={value}" for key, value in env.items()]
        tmux = ["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "36"]
        env_args = ["env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", *assignments]
        subprocess.run([*tmux, *env_args, "sh", "-c", script], check=True)

    def screen(self) -> str:
        capture = ["tmux", "capture-pane", "-p", "-t", self.name]
        return subprocess.run(capture, capture_output=True, text=True).stdout

    def wait_for(self, ready: Callable[[str], bool], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.screen()):
                return
            time.sleep(0.02)
        raise RuntimeError(f"timed out; the screen shows:\n{self.screen()}")

    def keys(self, *keys: str, literal: bool = False) -> None:
        flags = ["-l"] if literal else []
        subprocess.run(["tmux", "send-keys", "-t", self.name, *flags, *keys], check=True)

    def quit(self) -> float:
        """Seconds from Ctrl+Q to the process's end."""
        start = time.time()
        self.keys("C-q")
        deadline = time.monotonic() + 30
        while not (self.ended.exists() and self.ended.read_text().strip()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"still running 30 s after Ctrl+Q:\n{self.screen()}")
            time.sleep(0.002)
        return float(self.ended.read_text()) - start

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        self._tmp.cleanup()


def floor_run() -> float:
    pane = Pane([sys.executable, str(HERE / "floor_app.py")], {})
    try:
        pane.wait_for(lambda s: "floor app ready" in s and "Quit" in s)
        time.sleep(0.5)
        return pane.quit()
    finally:
        pane.close()


def assistant_run(state: str) -> float:
    with tempfile.TemporaryDirectory() as data:
        # A long reply to quit in; a short one before a reflection.
        env = {"ASSISTANT_MAX_REPLY_TOKENS": "2000" if state == "reply" else "40"}
        pane = Pane([ASSISTANT, "--data-dir", data, "--backend", "local"], env)
        try:
            pane.wait_for(lambda s: "●" in s)  # the model answers
            if state in ("reply", "reflection"):
                message = LONG if state == "reply" else "I'm Marta, a nurse in Lisbon."
                pane.keys(message, literal=True)
                pane.keys("Enter")
                if state == "reply":
                    pane.wait_for(lambda s: "writing" in s)
                    time.sleep(0.5)  # tokens on screen
                else:
                    pane.wait_for(lambda s: "Assistant ·" in s)  # the reply started
                    pane.wait_for(lambda s: "writing" not in s and "thinking" not in s)
                    pane.keys("/reflect", literal=True)
                    pane.keys("Enter")
                    pane.wait_for(lambda s: "reflecting" in s or "updating memories" in s)
                    time.sleep(0.3)
            else:
                time.sleep(0.5)
            return pane.quit()
        finally:
            pane.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--states", default="idle,reply,reflection")
    args = parser.parse_args()
    states = args.states.split(",")

    results: dict[str, list[float]] = {"floor": [], **{state: [] for state in states}}
    for _ in range(args.runs):
        results["floor"].append(floor_run())
        for state in states:
            results[state].append(assistant_run(state))
    floor = statistics.median(results["floor"])
    print(f"runs: {args.runs} each, interleaved; Ctrl+Q to the process's end")
    for name, times in results.items():
        times.sort()
        median = statistics.median(times)
        print(
            f"{name:<11} median {median * 1000:6.0f} ms "
            f"(min {times[0] * 1000:.0f}, max {times[-1] * 1000:.0f})  "
            f"ratio {median / floor:.2f}x"
        )


if __name__ == "__main__":
    main()
