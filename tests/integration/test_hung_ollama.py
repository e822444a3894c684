"""Issue 18, item 6: an Ollama that accepts and never answers, or stops halfway,
ends the chat with a one-line error naming the host and the limit; an unknown
host and a bad OLLAMA_HOST are named as such. Through the installed command."""

import json
import sqlite3
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from tests.conftest import FakeOllama
from tests.integration.conftest import run_cli
from tests.integration.test_cli import one_line_error

RELEASE = threading.Event()  # set at teardown: the silent handlers end


class SilentOllama(FakeOllama):
    """Lists the model, then says nothing at all to /api/chat."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        RELEASE.wait(60)


class StallingOllama(FakeOllama):
    """Starts the reply, then goes quiet."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        line = {"model": body["model"], "message": {"role": "assistant", "content": "Once"}}
        self.wfile.write((json.dumps(line | {"done": False}) + "\n").encode())
        self.wfile.flush()
        RELEASE.wait(60)


def serve(handler: type) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def server(request):
    RELEASE.clear()
    running, url = serve(request.param)
    yield url
    RELEASE.set()
    running.shutdown()
    running.server_close()


def chat(data_dir, host: str):
    started = time.monotonic()
    result = run_cli(
        "--backend", "ollama", "chat", "a question", data_dir=data_dir, OLLAMA_HOST=host,
        ASSISTANT_FIRST_TOKEN_TIMEOUT_SECONDS="3", ASSISTANT_INTER_TOKEN_TIMEOUT_SECONDS="2",
    )  # fmt: skip
    return result, time.monotonic() - started


def saved(data_dir) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    return list(db.execute("SELECT role, content, status FROM messages ORDER BY id"))


@pytest.mark.parametrize("server", [SilentOllama], indirect=True)
def test_a_server_that_never_answers_times_out(server, data_dir) -> None:
    result, seconds = chat(data_dir, server)
    line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert server in line and "first_token_timeout_seconds" in line and "ollama ps" in line
    assert seconds < 30
    assert saved(data_dir) == [("user", "a question", "complete")]


@pytest.mark.parametrize("server", [StallingOllama], indirect=True)
def test_a_reply_that_stops_halfway_times_out_and_keeps_its_start(server, data_dir) -> None:
    result, seconds = chat(data_dir, server)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "inter_token_timeout_seconds" in result.stderr and result.stdout.startswith("Once")
    assert seconds < 30
    assert saved(data_dir)[-1] == ("assistant", "Once", "error")


def test_an_unknown_host_is_named_as_such(data_dir) -> None:
    result, _ = chat(data_dir, "http://no-such-host.invalid:11434")
    assert result.returncode == 1
    assert "does not resolve" in result.stderr and "refused" not in result.stderr


def test_a_bad_ollama_host_is_named_as_the_culprit(data_dir) -> None:
    result = run_cli("threads", data_dir=data_dir, OLLAMA_HOST="gpu-box:eleven")
    assert "OLLAMA_HOST" in one_line_error(result) and "gpu-box:eleven" in result.stderr
