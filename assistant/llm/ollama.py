"""The Ollama backend: ``ChatOllama`` (langchain-ollama) against a configured host.

:func:`probe` asks the server which models it has (``GET /api/tags`` of Ollama's
REST API) within a short timeout; it never raises.
"""

from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class OllamaStatus:
    """What a probe found: whether the server answered, and its model names."""

    host: str
    reachable: bool
    models: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None

    def has_model(self, name: str) -> bool:
        """Whether ``name`` is served, with Ollama's implicit ``:latest`` tag."""
        wanted = name if ":" in name else f"{name}:latest"
        return any(m in (name, wanted) for m in self.models)


def connect_problem(exc: BaseException) -> str:
    """Why a connection failed, in a few words: the host name is unknown (DNS), or
    the connection was refused (nothing listens there), or the error's own text."""
    text = str(exc)
    if any(
        sign in text
        for sign in ("Name or service not known", "nodename nor servname", "name resolution")
    ):
        return "the host name does not resolve"
    if "refused" in text.lower():
        return "connection refused"
    return text.strip() or type(exc).__name__


def probe(host: str, timeout_seconds: float = 1.0) -> OllamaStatus:
    """List the models of the Ollama server at ``host`` (a base URL).

    Args:
        host: e.g. ``http://127.0.0.1:11434``.
        timeout_seconds: total time allowed for connecting and answering.

    Returns:
        The status; ``reachable`` is False with a short ``error`` when the server
        did not answer in time, refused, or answered something that is not Ollama.
    """
    try:
        response = httpx.get(f"{host}/api/tags", timeout=timeout_seconds, trust_env=False)
        response.raise_for_status()
        models = tuple(m["name"] for m in response.json().get("models", []))
    except httpx.ConnectError as exc:
        return OllamaStatus(host, False, error=connect_problem(exc))
    except httpx.TimeoutException:
        return OllamaStatus(host, False, error=f"no answer within {timeout_seconds:g} s")
    except httpx.HTTPStatusError as exc:
        return OllamaStatus(host, False, error=f"HTTP {exc.response.status_code}")
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return OllamaStatus(host, False, error=f"not an Ollama server ({type(exc).__name__})")
    return OllamaStatus(host, True, models)
