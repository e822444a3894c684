"""Issue 18, item 1 (CLI): text from users, files and models never reaches the
terminal as escape sequences. Every command runs as the installed `assistant`;
its output must hold no ESC (or other control) byte, yet show the text."""

import json
import re
import threading
from http.server import ThreadingHTTPServer

import pytest

from assistant.conversations import ConversationStore
from tests.conftest import FakeOllama
from tests.integration.conftest import run_cli

#: What a hostile text carries: the window title, a screen clear, the clipboard
#: through OSC 52, a C1 CSI, and a carriage return that hides the line's start.
HOSTILE = "tea \x1b]0;pwned\x07 \x1b[2J \x1b]52;c;cHduZWQ=\x07 \x9b31m \rend"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def assert_safe(text: str) -> None:
    assert not CONTROL.search(text), repr(text)


def test_memories_add_list_show_search_and_markdown_export_show_escapes(data_dir) -> None:
    added = run_cli("memories", "add", f"I like green {HOSTILE}", data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    key = added.stdout.rsplit("[", 1)[1].split("]")[0]
    outputs = [added.stdout]
    for args in (
        ("memories", "list"),
        ("memories", "show", key),
        ("memories", "search", "green tea"),
        ("memories", "export", "--format", "markdown"),
    ):
        result = run_cli(*args, data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    for output in outputs:
        assert_safe(output)
        assert "^[]0;pwned^G" in output, output  # shown, not obeyed
        assert "\\x9b31m" in output


def test_json_output_is_safe_and_decodes_to_the_same_text(data_dir) -> None:
    assert run_cli("memories", "add", f"I like {HOSTILE}", data_dir=data_dir).returncode == 0
    for args in (("memories", "list", "--json"), ("memories", "export")):
        result = run_cli(*args, data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        assert_safe(result.stdout)
        (row,) = [json.loads(line) for line in result.stdout.splitlines()]
        decoded = json.dumps(row, ensure_ascii=False)  # the text itself, kept whole
        assert "\\u001b]52;c;cHduZWQ=\\u0007" in decoded and "\x9b31m" in decoded


def test_threads_and_jobs_show_a_hostile_title_visibly(data_dir) -> None:
    store = ConversationStore(data_dir / "conversations.sqlite3")
    thread = store.create_thread(title=f"My {HOSTILE}")
    store.add_message(thread.id, "user", "hello")  # unreflected: a pending job
    store.close()
    for args in (("threads",), ("threads", "--json"), ("jobs",), ("jobs", "--json")):
        result = run_cli(*args, data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        assert_safe(result.stdout)
        assert "pwned" in result.stdout


class HostileOllama(FakeOllama):
    reply = ("Sure", " \x1b]0;pwned\x07", " \x1b]52;c;cHduZWQ=\x07", "\x1b", "[2J done.")


@pytest.fixture
def hostile_ollama():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileOllama)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_streamed_reply_with_escapes_is_shown_not_obeyed(hostile_ollama, data_dir) -> None:
    result = run_cli(
        "--backend", "ollama", "chat", "hi", data_dir=data_dir, OLLAMA_HOST=hostile_ollama
    )
    assert result.returncode == 0, result.stderr
    assert_safe(result.stdout + result.stderr)
    # An escape split across two tokens is still shown, piece by piece.
    assert result.stdout.strip() == "Sure ^[]0;pwned^G ^[]52;c;cHduZWQ=^G^[[2J done."
