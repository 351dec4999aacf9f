"""What the core tells an operator's metrics: a port, so `bot/` imports no metrics library.

`payforward/` implements it with prometheus_client; tests and the console use the
silent default. Calls are cheap and synchronous: they count, they never wait.
"""

from __future__ import annotations

from typing import Protocol

from bot.messages import Priority


class Observer(Protocol):
    def event_handled(self, kind: str, outcome: str, seconds: float) -> None:
        """One inbound event (`kind`: its class name) went `outcome` ("ok", "duplicate",
        "refused", "error", "unavailable") in `seconds`."""
        ...

    def delivery(self, platform: str, priority: Priority, outcome: str) -> None:
        """One send of a queued message went `outcome` ("delivered", "retry",
        "undeliverable")."""
        ...

    def throttled(self, platform: str, key: str) -> None:
        """The platform answered 429 for the rate-limit key `key`."""
        ...

    def job_ran(self, job: str, result: str) -> None:
        """A scheduled job's run for one community ended with `result`."""
        ...


class Silent:
    """The Observer that records nothing."""

    def event_handled(self, kind: str, outcome: str, seconds: float) -> None:
        pass

    def delivery(self, platform: str, priority: Priority, outcome: str) -> None:
        pass

    def throttled(self, platform: str, key: str) -> None:
        pass

    def job_ran(self, job: str, result: str) -> None:
        pass
