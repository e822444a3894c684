"""Bundled data: prompts and other files the app reads at run time."""

from importlib.resources import files


def read_text(name: str) -> str:
    """The text of a bundled file, e.g. ``read_text("prompts/system.md")``."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")
