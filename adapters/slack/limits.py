"""Slack's rate limits for what the outbox sends, as data for the core's limiter.

Slack limits an app per workspace per method, and `chat.postMessage` also per channel:
"one message per second per channel, with short bursts", plus a workspace-wide
ceiling that Slack does not put a number on; `chat.update` is a Tier 3 method (50+ a
minute per workspace). So a post or a DM draws on its workspace's `chat.postMessage`
budget and on its channel's (a DM's channel is the member's), an edit on the
workspace's `chat.update` budget and on its channel's. The rates are settings
(PAYFORWARD_SLACK_*_RATE); the limiter slows a key down when Slack answers 429 anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.limits import Limit
from bot.messages import ToChannel, ToMember
from bot.ports import OutboxItem

POST, UPDATE = "chat.postMessage", "chat.update"
CHANNEL_BURST = 2.0  # "short bursts": two posts in a channel at once, then its rate
UPDATE_BURST = 3.0  # Tier 3: "sporadic bursts are welcome"


@dataclass(frozen=True)
class SlackPacing:
    """Sends a second per workspace (`post`, `update`) and per channel; 0: no limit."""

    post: float = 10.0
    update: float = 0.8
    channel: float = 1.0

    def limits(self, item: OutboxItem) -> tuple[Limit, ...]:
        target = item.target
        if isinstance(target, ToChannel):
            method, rate, burst, channel = POST, self.post, self.post / 2, target.channel_id
        elif isinstance(target, ToMember):
            method, rate, burst, channel = POST, self.post, self.post / 2, target.member_id
        else:
            method, rate, burst, channel = UPDATE, self.update, UPDATE_BURST, target.ref.channel_id
        workspace = item.community_id  # slack:<team id>
        limits = []
        if rate > 0:  # half a second's worth saved up: Slack's own bucket keeps some slack
            limits.append(Limit(f"{workspace}:{method}", rate, max(1.0, burst)))
        if self.channel > 0:
            limits.append(Limit(f"{workspace}:channel:{channel}", self.channel, CHANNEL_BURST))
        return tuple(limits)
