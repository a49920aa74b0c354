"""authsvc: short-lived JWT access tokens, rotating refresh cookies, revocable sessions."""

__version__ = "0.1.0"
