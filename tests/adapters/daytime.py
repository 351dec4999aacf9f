"""A timezone where it is midday now, so quiet hours never hold back a DM a test waits
for, whenever the test runs."""

from __future__ import annotations

from datetime import datetime


def midday_zone(now: datetime) -> str:
    """An `Etc/GMT±N` zone whose local hour at `now` is 11, 12 or 13."""
    offset = 12 - now.hour
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}"  # POSIX signs
