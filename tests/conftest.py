"""Shared fixtures: every test runs against its own data dir, config and environment."""

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.llm import BackendChoice

#: Where scripts/setup joined the bundled models (read before any test moves HOME).
MODELS_DIR = Settings.model_fields["models_dir"].default_factory()  # type: ignore[misc]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the user's config or data, or a real OLLAMA_HOST."""
    import os

    for name in list(os.environ):
        if name.startswith("ASSISTANT_") or name == "OLLAMA_HOST":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    # The tests' model is the tiny one (subprocesses inherit this); the joined
    # bundled models stay where scripts/setup put them, not in each test's home.
    monkeypatch.setenv("ASSISTANT_LOCAL_MODEL", "tiny")
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(MODELS_DIR))
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "config.toml"))
    # Nothing listens on port 9 (discard): a fast "connection refused".
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    return tmp_path


@pytest.fixture(autouse=True)
def fresh_loggers() -> Iterator[None]:
    """A test that runs the CLI in-process sends the app's loggers to its log file
    only (``setup_logging``); the next test gets them back as they were, so
    ``caplog`` sees their records."""
    yield
    for name in ("assistant", "tui"):
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            handler.close()
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture(scope="session")
def minilm():
    """The real embedder (all-MiniLM-L6-v2, int8 ONNX), loaded once."""
    from assistant.embeddings import MiniLMEmbeddings

    return MiniLMEmbeddings()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.load(data_dir=data_dir, backend="local", local_model="tiny", temperature=0.0)


@pytest.fixture
def store(settings: Settings) -> Iterator[ConversationStore]:
    store = ConversationStore(settings.database_path)
    yield store
    store.close()


@pytest.fixture
def fake_choice() -> BackendChoice:
    return BackendChoice("local", "fake-model", "fake · fake-model", "test", None, "http://x")


def _vector(text: str) -> list[float]:
    """An 8-dimensional embedding that depends on the words of a text, so that texts
    sharing words are near."""
    vector = [0.0] * 8
    for word in text.lower().split():
        vector[sum(word.encode()) % 8] += 1.0
    return vector


def _follow_format(schema: object) -> tuple[str, ...]:
    """A reply that follows a reflection schema (as Ollama's constrained decoding
    would): every sentence judged "nothing to remember"; ``()`` for other requests."""
    if not isinstance(schema, dict) or "sentences" not in schema.get("properties", {}):
        return ()
    items = schema["properties"]["sentences"]["prefixItems"]
    judged = [
        {"sentence": item["properties"]["sentence"]["const"], "memories": []} for item in items
    ]
    return (json.dumps({"sentences": judged}),)


class FakeOllama(BaseHTTPRequestHandler):
    """Enough of Ollama's REST API for ChatOllama and OllamaEmbeddings: /api/tags,
    streamed /api/chat and /api/embed."""

    models: tuple[str, ...] = ("llama3.2:latest",)
    reply: tuple[str, ...] = ("Hello", " from", " Ollama", ".")
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": name} for name in self.models]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if self.path == "/api/embed":
            self._json(
                200, {"model": body["model"], "embeddings": [_vector(t) for t in body["input"]]}
            )
            return
        if self.path != "/api/chat":
            self._json(404, {"error": "not found"})
            return
        if body["model"] not in self.models and f"{body['model']}:latest" not in self.models:
            self._json(404, {"error": f"model '{body['model']}' not found"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for piece in _follow_format(body.get("format")) or self.reply:
            line = {"model": body["model"], "message": {"role": "assistant", "content": piece}}
            self.wfile.write((json.dumps(line | {"done": False}) + "\n").encode())
            self.wfile.flush()
        done = {"model": body["model"], "message": {"role": "assistant", "content": ""}}
        done |= {"done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 4}
        self.wfile.write((json.dumps(done) + "\n").encode())


@pytest.fixture
def fake_ollama() -> Iterator[str]:
    """A loopback HTTP server speaking Ollama's API; yields its base URL."""
    FakeOllama.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
