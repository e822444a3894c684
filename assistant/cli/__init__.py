"""The command line, a front end over :class:`assistant.runtime.Runtime`.

With :mod:`tui`, the only place that formats and prints: the core returns data
and raises errors. The console script is :func:`assistant.cli.app.main`.
"""
