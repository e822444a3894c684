"""Errors the user can act on.

Every error raised to a front end is an :class:`AssistantError` whose message is
one line that says what happened and what to do next. Front ends print it as it
is (the CLI) or show it in a notification (the TUI); neither shows a traceback.
"""


class AssistantError(Exception):
    """Base of all errors meant for the user: ``str(error)`` is the message."""


class ConfigError(AssistantError):
    """The settings (config file, environment, flags) are invalid."""


class StorageError(AssistantError):
    """The data directory or a database in it cannot be used."""


class ModelError(AssistantError):
    """The chat model could not be reached, loaded, or could not answer."""


class InputError(AssistantError):
    """A message or argument from the user was refused before any work was done."""
