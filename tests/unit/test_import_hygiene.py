"""The core stays headless: importing any of it never imports textual or tui."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import assistant


def test_the_core_never_imports_the_tui() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(assistant.__path__, "assistant."))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
    assert "assistant.session" in modules and "assistant.llm.local" in modules


def test_the_cli_loads_the_tui_only_when_it_opens_it() -> None:
    code = "import sys, tui.main; print(any(m.startswith('textual') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_first_screen_waits_for_no_model_or_store_library() -> None:
    """What the TUI imports before its first screen: langchain, LangGraph, Chroma,
    ONNX and llama.cpp load in the model's and the store's workers, after it (they
    once added 0.75 s through a CLI module's top-level import, and 0.56 s through
    the Runtime's import of the model gate)."""
    heavy = ("langchain_core", "langgraph", "chromadb", "onnxruntime", "llama_cpp")
    code = (
        "import sys, tempfile, tui.main, tui.app\n"
        "from assistant.config import Settings\n"
        "from assistant.runtime import Runtime\n"
        "runtime = Runtime(Settings(data_dir=tempfile.mkdtemp()))\n"
        "tui.app.AssistantApp(runtime)  # what open_tui builds before the app runs\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_import_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: the core imports neither front end;
    reflection, the memory domain and the store are layers; the store knows
    nothing of memories."""
    lint = Path(sys.executable).with_name("lint-imports")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [str(lint), "--no-cache"], capture_output=True, text=True, check=False, cwd=root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout
