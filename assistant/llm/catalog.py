"""What ``assistant models`` shows: the bundled models, their state, and speeds
measured on this machine.

Speeds come from :func:`measure` (``assistant models test``), recorded in
``<models_dir>/measured.json`` as tokens per second of decoding and seconds to
the first token, with the thread count they were measured at.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.llm.bundled import MODELS, BundledModel, installed, joined_path, verified
from assistant.llm.local import describe

MEASURE_PROMPT = "Write three short tips for sleeping better, as a list."


@dataclass(frozen=True, slots=True)
class Speed:
    """One measurement: decoding speed (tokens/s), first token (s), threads used."""

    tokens_per_second: float
    first_token_seconds: float
    threads: int
    measured_at: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A bundled model as ``assistant models`` lists it.

    Attributes:
        model: the bundled model.
        installed: every part is installed.
        ready: the usable file exists and was verified against the sha256.
        path: where the usable file is (or will be).
        in_use: the settings select it.
        speed: the last measurement on this machine, if any.
    """

    model: BundledModel
    installed: bool
    ready: bool
    path: Path
    in_use: bool
    speed: Speed | None


def _measured_file(settings: Settings) -> Path:
    return settings.models_dir / "measured.json"


def measured(settings: Settings) -> dict[str, Speed]:
    """The recorded speeds by model title (a missing or damaged record is empty)."""
    try:
        data = json.loads(_measured_file(settings).read_text())
        return {name: Speed(**values) for name, values in data.items()}
    except (OSError, ValueError, TypeError):
        return {}


def list_models(settings: Settings) -> list[ModelInfo]:
    """Every bundled model with its state, in the order default, small, tiny."""
    try:
        current = describe(settings)
    except ModelError:
        current = None
    speeds = measured(settings)
    rows = []
    for model in MODELS.values():
        path = joined_path(model, settings.models_dir)
        rows.append(
            ModelInfo(
                model=model,
                installed=installed(model),
                ready=path.is_file() and verified(model, path, settings.models_dir),
                path=path,
                in_use=current is not None and current.bundled is model,
                speed=speeds.get(model.title),
            )
        )
    return rows


def measure(settings: Settings) -> tuple[str, Speed]:
    """Load the configured embedded model, time one reply, and record it.

    Returns:
        The model's name and its speed.

    Raises:
        ModelError: the model cannot be loaded or answer.
    """
    from langchain_core.messages import HumanMessage

    from assistant.llm import choose_backend, load_chat_model
    from assistant.llm.local import ChatLlamaCpp

    choice = choose_backend(settings.model_copy(update={"backend": "local"}))
    model = load_chat_model(choice, settings)
    assert isinstance(model, ChatLlamaCpp)
    start = time.perf_counter()
    first = None
    tokens = 0
    for chunk in model.stream([HumanMessage(MEASURE_PROMPT)], max_tokens=96):
        if chunk.text:
            tokens += 1
            first = first or time.perf_counter()
    end = time.perf_counter()
    if first is None or tokens < 2:
        raise ModelError(f"The embedded model {choice.model} gave no reply to measure.")
    speed = Speed(
        tokens_per_second=round((tokens - 1) / max(end - first, 1e-6), 1),
        first_token_seconds=round(first - start, 2),
        threads=model.threads,
        measured_at=time.strftime("%Y-%m-%d %H:%M"),
    )
    records = {name: asdict(value) for name, value in measured(settings).items()}
    records[choice.model] = asdict(speed)
    path = _measured_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1))
    return choice.model, speed
