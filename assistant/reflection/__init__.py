"""Reflection: the model turns a thread's new messages into memory changes.

:mod:`~assistant.reflection.manager` runs it (journaled, resumable);
:mod:`~assistant.reflection.prompts` and :mod:`~assistant.reflection.output`
are what the model is shown and must write; :mod:`~assistant.reflection.resolution`
checks and consolidates each draft; :mod:`~assistant.reflection.journal` holds
the records kept; :mod:`~assistant.reflection.review` lists and undoes them.
"""
