"""Launch to "the model answers", per bundled model, in a real terminal (tmux).

A message typed before then is queued and sent when the model is ready; this is
how long that wait is. tmux starts `assistant` alone (the data dir, the embedded
backend and the model given in the environment, a fresh data dir each run); the
script polls `tmux capture-pane` every 20 ms until the status line names the
model (``● embedded · ...``), then quits with Ctrl+Q. The models alternate, N
runs each; a model not installed here is skipped.

Usage: .venv/bin/python bench/model_ready.py [--runs 5] [--models default,small,tiny]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ASSISTANT = str(Path(sys.executable).with_name("assistant"))


def one_run(model: str) -> float:
    """Seconds from launch to the status line naming the model."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as data:
        env = [
            "env",
            "-u",
            "COLUMNS",
            "-u",
            "LINES",
            "TERM=xterm-256color",
            f"ASSISTANT_DATA_DIR={data}",
            "ASSISTANT_BACKEND=local",
            f"ASSISTANT_LOCAL_MODEL={model}",
        ]
        start = time.perf_counter()
        tmux = ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "36"]
        subprocess.run([*tmux, *env, ASSISTANT], check=True)
        try:
            while True:
                capture = ["tmux", "capture-pane", "-p", "-t", name]
                screen = subprocess.run(capture, capture_output=True, text=True).stdout
                if "● embedded" in screen:
                    return time.perf_counter() - start
                if time.perf_counter() - start > 300:
                    raise RuntimeError(f"the model was not ready after 300 s:\n{screen}")
                time.sleep(0.02)
        finally:
            subprocess.run(["tmux", "send-keys", "-t", name, "C-q"], check=False)
            time.sleep(1.0)
            subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def installed(model: str) -> bool:
    from assistant.llm.bundled import MODELS, installed

    return installed(MODELS[model])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", default="default,small,tiny")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if installed(m)]
    results: dict[str, list[float]] = {model: [] for model in models}
    for _ in range(args.runs):
        for model in models:
            results[model].append(one_run(model))
    print(f"runs: {args.runs} each, interleaved; launch to the model ready")
    for model, times in results.items():
        times.sort()
        print(
            f"{model:<8} median {statistics.median(times):6.2f} s "
            f"(min {times[0]:.2f}, max {times[-1]:.2f})"
        )


if __name__ == "__main__":
    main()
