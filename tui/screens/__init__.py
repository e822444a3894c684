"""Modal screens of the assistant TUI."""
