"""What the session flows report as it happens, to whoever counts it (the app's metrics).

The flows call these hooks and know nothing of Prometheus; arguments are fixed words and
counts, never a username, token or address.
"""

from __future__ import annotations

from typing import Protocol


class SessionObserver(Protocol):
    def login_succeeded(self) -> None: ...

    def login_failed(self) -> None: ...

    def throttled(self, flow: str) -> None:
        """A request refused by failed-login throttling; `flow` is "login" or "password_change"."""
        ...

    def refresh_rotated(self) -> None: ...

    def refresh_grace_replayed(self) -> None: ...

    def refresh_reuse_detected(self) -> None: ...

    def sessions_revoked(self, reason: str, count: int) -> None: ...


class NullObserver:
    """Reports to nobody: for the CLI, and for apps with metrics switched off."""

    def login_succeeded(self) -> None:
        return

    def login_failed(self) -> None:
        return

    def throttled(self, flow: str) -> None:
        return

    def refresh_rotated(self) -> None:
        return

    def refresh_grace_replayed(self) -> None:
        return

    def refresh_reuse_detected(self) -> None:
        return

    def sessions_revoked(self, reason: str, count: int) -> None:
        return


NULL_OBSERVER: SessionObserver = NullObserver()
