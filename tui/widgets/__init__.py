"""Widgets of the assistant TUI."""
