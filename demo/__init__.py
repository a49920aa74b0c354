"""The demo single-page app: static files, the server that serves them, and its launcher."""
