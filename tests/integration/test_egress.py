"""Issue 18, item 2: nothing is sent anywhere but the endpoints the user configured.

strace records every ``connect`` and addressed ``sendto``/``sendmsg`` of the
installed `assistant` (and its threads and children, native libraries included:
onnxruntime's telemetry looks up mobile.events.data.microsoft.com from C++, where
no Python audit hook sees it) during a chat, a memory search, a reflection and a
TUI session under tmux. Any DNS lookup (port 53) or connection that is not the
configured Ollama host (loopback here) fails the test. `.ci/run` installs strace.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import ASSISTANT, run_cli

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")

#: The Ollama host the tests configure (tests/conftest.py): nothing listens there.
OLLAMA_PORT = 9
#: Where onnxruntime (and others) keep quiet by themselves: unset in the traced
#: processes, so that the test sees what a user's machine does.
CI_VARIABLES = (
    "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
    "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER",
    "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "ORT_RUNNING_UNIT_TESTS", "ORT_TELEMETRY_DISABLED",
)  # fmt: skip


def user_env() -> dict[str, str]:
    """The test's environment (read now: the fixtures set it) without CI_VARIABLES."""
    return {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}


TRACE = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-e", "signal=none"]
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(
    r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"'
)


def foreign(trace: Path) -> list[str]:
    """The traced calls that reach an address other than the configured Ollama
    host: every DNS query, and any other host or port."""
    found = []
    for line in trace.read_text().splitlines():
        for match in (*_INET.finditer(line), *_INET6.finditer(line)):
            port, address = int(match.group(1)), match.group(2)
            loopback = address.startswith("127.") or address == "::1"
            if port == 53 or not (loopback and port == OLLAMA_PORT):
                found.append(line)
    return found


def traced(trace: Path, *args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TRACE, "-o", str(trace), ASSISTANT, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=user_env() | env,
    )


def test_the_trace_sees_a_dns_lookup(tmp_path) -> None:
    """The check itself can fail: a lookup from Python is caught."""
    trace = tmp_path / "trace"
    probe = "import socket\ntry: socket.getaddrinfo('example.com', 80)\nexcept OSError: pass"
    subprocess.run(
        [*TRACE, "-o", str(trace), sys.executable, "-c", probe], timeout=60, env=user_env()
    )
    assert any(":53" in line or "htons(53)" in line for line in foreign(trace))


def test_an_embedding_sends_nothing_even_seconds_later(tmp_path) -> None:
    """onnxruntime sent its telemetry about 10 s after the first session."""
    trace = tmp_path / "trace"
    script = (
        "import time\nfrom assistant.embeddings import MiniLMEmbeddings\n"
        "MiniLMEmbeddings().embed_query('green tea')\ntime.sleep(15)"
    )
    subprocess.run(
        [*TRACE, "-o", str(trace), sys.executable, "-c", script], timeout=120, env=user_env()
    )
    assert foreign(trace) == []


@pytest.mark.model
def test_chat_search_and_reflect_reach_only_the_configured_host(tmp_path, data_dir) -> None:
    assert run_cli("memories", "add", "I like green tea", data_dir=data_dir).returncode == 0
    for index, args in enumerate(
        [
            ("chat", "I live in Lyon and I like green tea."),  # auto: probes Ollama first
            ("memories", "search", "tea"),
            ("--backend", "local", "reflect"),
        ]
    ):
        trace = tmp_path / f"trace{index}"
        result = traced(trace, *args, data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        assert foreign(trace) == [], args
    assert "127.0.0.1" in (tmp_path / "trace0").read_text()  # the probe was seen


@pytest.mark.model
@pytest.mark.terminal
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_tui_session_reaches_only_the_configured_host(tmp_path, data_dir) -> None:
    from tests.e2e.test_terminal import Terminal

    trace = tmp_path / "trace"
    # A running tmux server has its own environment: the test's is given here.
    names = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    names += ("ASSISTANT_CONFIG", "ASSISTANT_MODELS_DIR", "OLLAMA_HOST", "PATH")
    env = [arg for name in CI_VARIABLES for arg in ("-u", name)]
    env += [f"{name}={os.environ[name]}" for name in names]
    env += ["TERM=xterm-256color", "ASSISTANT_MAX_REPLY_TOKENS=32", "ASSISTANT_LOCAL_MODEL=tiny"]
    terminal = Terminal(
        ["env", *env, *TRACE, "-o", str(trace), ASSISTANT, "--data-dir", str(data_dir)]
    )
    try:
        terminal.wait_for(lambda s: "embedded · SmolLM2" in s and "Enter sends" in s)
        terminal.keys("-l", "I like green tea")
        terminal.wait_for(lambda s: "I like green tea" in s, timeout=10)
        terminal.keys("Enter")  # recall embeds: onnxruntime's first session
        terminal.wait_for(lambda s: "Assistant · " in s and "writing" not in s, timeout=120)
        time.sleep(15)  # when onnxruntime's telemetry went out
        terminal.keys("C-q")
        deadline = time.monotonic() + 20
        while terminal.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        terminal.close()
        # A TUI that did not quit outlives its tmux session under strace: end both.
        subprocess.run(["pkill", "-f", str(trace)], check=False)
        subprocess.run(["pkill", "-f", f"--data-dir {data_dir}"], check=False)
    assert trace.read_text()  # strace ran
    assert foreign(trace) == []
