"""Discord's rate limits for what the outbox sends: only a budget for bulk work.

discord.py already keeps a bucket per route (learned from the X-RateLimit-* headers)
and honours the global limit (~50 requests a second per bot): pacing every send
again would only slow answers down. What it cannot know is which messages matter
first, so fan-outs (prompts, cups rounds) get a budget of their own below the global
limit, leaving the headroom to answers. A first DM to a member costs two requests
(opening the DM channel, then the message), hence a default of 20 a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.limits import Limit
from bot.messages import Priority
from bot.ports import OutboxItem

BULK_KEY = "discord:bulk"


@dataclass(frozen=True)
class DiscordPacing:
    """`bulk` messages a second for the whole bot; 0: no budget of its own."""

    bulk: float = 20.0

    def limits(self, item: OutboxItem) -> tuple[Limit, ...]:
        if item.priority != Priority.BULK or self.bulk <= 0:
            return ()
        return (Limit(BULK_KEY, self.bulk, max(1.0, self.bulk / 2)),)
