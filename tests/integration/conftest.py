import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.llm.bundled import MODELS, ensure_model
from assistant.llm.local import ChatLlamaCpp
from tests.conftest import MODELS_DIR

ASSISTANT = str(Path(sys.executable).with_name("assistant"))


@pytest.fixture(scope="session")
def local_model() -> Iterator[ChatLlamaCpp]:
    """The tiny bundled model, loaded once, answering deterministically (temperature 0)."""
    yield ChatLlamaCpp(
        model_path=str(ensure_model(MODELS["tiny"], MODELS_DIR)),
        n_ctx=2048,
        temperature=0.0,
        max_tokens=48,
        seed=7,
    )


def run_cli(*args: str, data_dir: Path, stdin: str | None = None, **env: str):
    """Run the installed `assistant` command with its own data dir."""
    return subprocess.run(
        [ASSISTANT, "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | env,
    )


def local_settings(data_dir: Path, **values: object) -> Settings:
    values.setdefault("local_model", "tiny")
    return Settings.load(data_dir=data_dir, backend="local", temperature=0.0, **values)


def interruptible() -> None:
    """``preexec_fn`` of a child that a test interrupts with SIGINT: Ctrl-C's
    default action, even when the test run itself ignores SIGINT (a background
    job of a shell without job control), so that Python in the child raises
    KeyboardInterrupt as it would in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
