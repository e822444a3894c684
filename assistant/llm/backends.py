"""Chat model backends and how one is chosen (imported through :mod:`assistant.llm`).

``auto`` (the default) uses Ollama when it answers within
``probe_timeout_seconds`` and has the configured model; otherwise the embedded
llama.cpp model, with a notice that says which host was tried, what is used
instead, and how to switch. ``ollama`` and ``local`` force a backend.
"""

from dataclasses import asdict, dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from assistant.config import Settings
from assistant.errors import AssistantError, ModelError
from assistant.llm.bundled import MODELS
from assistant.llm.local import describe
from assistant.llm.ollama import OllamaStatus, probe


@dataclass(frozen=True)
class BackendChoice:
    """Which backend and model a session uses, and why.

    Attributes:
        backend: ``"ollama"`` or ``"local"``.
        model: the Ollama model name, or the GGUF file name for ``local``.
        label: what the UI shows, e.g. ``"ollama · llama3.2"``.
        reason: one line on why this backend was chosen.
        notice: a plain-language warning for the user (a fallback, a missing
            model), or ``None``.
        host: the Ollama base URL (also for ``local``, where it is the one tried).
    """

    backend: Literal["ollama", "local"]
    model: str
    label: str
    reason: str
    notice: str | None
    host: str

    @property
    def demo_quality(self) -> bool:
        """Whether replies come from the tiny bundled model (for tests and very small
        machines: it answers few questions well)."""
        return self.backend == "local" and self.model == MODELS["tiny"].title


def local_name(settings: Settings) -> str:
    """The embedded model ``settings`` ask for, as the UI names it; never raises."""
    try:
        return describe(settings).name
    except AssistantError:
        return "no model installed"


def _local(settings: Settings, reason: str, notice: str | None) -> BackendChoice:
    name = local_name(settings)
    return BackendChoice("local", name, f"embedded · {name}", reason, notice, settings.ollama_host)


def _ollama(settings: Settings, reason: str, notice: str | None) -> BackendChoice:
    model = settings.ollama_model
    return BackendChoice("ollama", model, f"ollama · {model}", reason, notice, settings.ollama_host)


def _problem(status: OllamaStatus, model: str) -> str | None:
    if not status.reachable:
        return f"Ollama at {status.host} did not answer ({status.error})"
    if not status.has_model(model):
        return f"Ollama at {status.host} does not have the model {model!r}"
    return None


def choose_backend(settings: Settings, status: OllamaStatus | None = None) -> BackendChoice:
    """Decide the backend for ``settings``; probes Ollama unless ``backend = "local"``.

    Args:
        settings: the user's settings.
        status: a probe result to reuse (tests, ``doctor``); probed when ``None``.

    Returns:
        The choice. Never raises: problems become the choice's ``notice``.
    """
    if settings.backend == "local":
        return _local(settings, "backend = local", None)
    status = status or probe(settings.ollama_host, settings.probe_timeout_seconds)
    problem = _problem(status, settings.ollama_model)
    if settings.backend == "ollama":
        notice = None
        if problem:
            notice = f"{problem}. Replies will fail until it does; {_ollama_fix(settings)}"
        return _ollama(settings, "backend = ollama", notice)
    if problem is None:
        return _ollama(settings, f"Ollama at {status.host} has {settings.ollama_model!r}", None)
    model = local_name(settings)
    quality = "demo quality" if model == MODELS["tiny"].title else "it runs on this CPU"
    notice = (
        f"{problem}, so replies come from the embedded {model} model ({quality}). "
        f"For a larger model {_ollama_fix(settings)}; to stop this check, set "
        f'backend = "local" in {_config_hint()}.'
    )
    return _local(settings, problem, notice)


def _ollama_fix(settings: Settings) -> str:
    return (
        f"start Ollama (`ollama serve`) and run `ollama pull {settings.ollama_model}`, "
        "or point OLLAMA_HOST at a server that has it"
    )


def _config_hint() -> str:
    from assistant.paths import default_config_file

    return str(default_config_file())


def load_chat_model(choice: BackendChoice, settings: Settings) -> BaseChatModel:
    """Build the chat model for ``choice``.

    The embedded model samples as its card recommends (``temperature`` overrides
    the card's temperature) and is joined from its parts first if it never was
    (about 5 s for ``default``; ``assistant models install`` shows it). Loading takes
    about 1 s (memory-mapped).

    Raises:
        ModelError: the embedded model is not installed, fails verification, or
            is not loadable.
    """
    if choice.backend == "ollama":
        import httpx
        from langchain_ollama import ChatOllama

        # httpx's read timeout is the longest silence of the socket: a backstop for
        # every call (reflection's too); the chat turn times its pieces itself.
        silence = max(settings.first_token_timeout_seconds, settings.inter_token_timeout_seconds)
        timeout = httpx.Timeout(silence, connect=max(settings.probe_timeout_seconds, 5.0))
        return ChatOllama(
            model=choice.model,
            base_url=settings.ollama_host,
            temperature=0.7 if settings.temperature is None else settings.temperature,
            num_predict=settings.max_reply_tokens,
            client_kwargs={"trust_env": False, "timeout": timeout},
        )
    from assistant.llm.local import ChatLlamaCpp, locate

    local = locate(settings)
    sampling: dict[str, Any] = {}
    if local.bundled is not None:
        sampling = {**asdict(local.bundled.sampling), "stop": local.bundled.stop}
    if settings.temperature is not None:
        sampling["temperature"] = settings.temperature
    return ChatLlamaCpp(
        model_path=str(local.path),
        n_ctx=settings.local_context_tokens,
        n_threads=settings.local_threads,
        max_tokens=settings.max_reply_tokens,
        **sampling,
    )


def constrain(
    model: BaseChatModel, schema: dict[str, Any], *, max_tokens: int
) -> Runnable[LanguageModelInput, BaseMessage]:
    """``model`` bound to answer with JSON that fits ``schema``, greedily (temperature 0).

    Ollama: the schema as ``format`` (its structured outputs); the embedded model:
    ``response_format={"type": "json_object", "schema": ...}``, which llama.cpp
    turns into a grammar; any other chat model: an OpenAI-style ``json_schema``
    ``response_format`` (what langchain's OpenAI-compatible models take).

    Args:
        max_tokens: the longest answer, in tokens.
    """
    from assistant.llm.local import ChatLlamaCpp

    if isinstance(model, ChatLlamaCpp):
        response_format = {"type": "json_object", "schema": schema}
        return model.bind(response_format=response_format, max_tokens=max_tokens, temperature=0.0)
    if type(model).__module__.startswith("langchain_ollama"):
        options = {"temperature": 0.0, "num_predict": max_tokens}
        if getattr(model, "num_ctx", None):
            options["num_ctx"] = model.num_ctx  # type: ignore[attr-defined]
        return model.bind(format=schema, options=options)
    envelope = {"name": "answer", "schema": schema, "strict": True}
    return model.bind(response_format={"type": "json_schema", "json_schema": envelope})


def explain_failure(exc: BaseException, choice: BackendChoice) -> AssistantError:
    """Turn an exception raised by a chat model into a one-line, actionable error."""
    if isinstance(exc, AssistantError):
        return exc
    text = str(exc).strip() or type(exc).__name__
    if choice.backend == "ollama":
        import httpx

        from assistant.llm.ollama import connect_problem

        if isinstance(exc, httpx.ConnectError | ConnectionError):
            problem = connect_problem(exc)
            if "resolve" in problem:
                return ModelError(
                    f"Ollama's host in {choice.host} is unknown ({problem}). Check the name "
                    "in OLLAMA_HOST (or ollama_host), or use --backend local."
                )
            return ModelError(
                f"Ollama is not reachable at {choice.host} ({problem}). Start it with "
                "`ollama serve`, fix OLLAMA_HOST, or use --backend local."
            )
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return ModelError(
                f"Ollama at {choice.host} stopped answering ({text}). Check that it runs "
                "(`ollama ps`) and is not overloaded, or raise first_token_timeout_seconds "
                "and inter_token_timeout_seconds."
            )
        if "not found" in text.lower():
            return ModelError(
                f"Ollama at {choice.host} has no model {choice.model!r}. Run "
                f"`ollama pull {choice.model}` or choose another with --model."
            )
        return ModelError(f"Ollama failed: {text}")
    if "exceed context window" in text:
        return ModelError(
            f"The conversation is too long for the embedded model's context window ({text}). "
            "Start a new conversation or raise local_context_tokens."
        )
    return ModelError(f"The embedded model failed: {text}")
