"""Issue 18, item 7: `kill -9` while a reply streams keeps what the user saw: the
reply is saved as it stands about every second (a slow loopback Ollama makes the
moment of the kill deterministic)."""

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer

from tests.conftest import FakeOllama
from tests.integration.conftest import ASSISTANT

WORDS = 200  # one every 0.1 s: a reply of 20 s, never finished here


class SlowOllama(FakeOllama):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for index in range(WORDS):
            piece = {"role": "assistant", "content": f"w{index} "}
            line = {"model": body["model"], "message": piece, "done": False}
            try:
                self.wfile.write((json.dumps(line) + "\n").encode())
                self.wfile.flush()
            except OSError:  # the client was killed
                return
            time.sleep(0.1)


def test_sigkill_mid_reply_keeps_the_partial_reply(tmp_path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowOllama)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    data_dir = tmp_path / "data"
    chat = subprocess.Popen(
        [ASSISTANT, "--data-dir", str(data_dir), "--backend", "ollama", "chat", "tell me"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"OLLAMA_HOST": f"http://127.0.0.1:{server.server_address[1]}"},
    )
    assert chat.stdout is not None
    seen = b""
    while b"w25 " not in seen:  # 2.5 s of reply on screen
        seen += os.read(chat.stdout.fileno(), 4096)
    chat.send_signal(signal.SIGKILL)
    chat.wait(timeout=10)
    server.shutdown()
    server.server_close()

    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    rows = list(db.execute("SELECT role, content, status FROM messages ORDER BY id"))
    assert rows[0] == ("user", "tell me", "complete")
    role, content, status = rows[1]
    assert (role, status) == ("assistant", "cancelled")
    # Saved within about a second of what was on screen, and nothing beyond it.
    assert seen.decode().startswith(content)
    assert "w15 " in content + " "
