"""The Textual front end of assistant. The core (``assistant``) never imports this."""
