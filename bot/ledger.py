"""How a give becomes confirmed, and what is decided about it at that moment.

Whether it is a forward give (the receiver had never given to the giver before) and
which earlier give it pays forward (the most recent help the giver received, from
someone other than this receiver, within `CHAIN_LOOKBACK`) depend only on the past,
so they are settled once here instead of being recomputed for every report.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.chains import MAX_LINKS
from bot.domain import Give, GiveStatus
from bot.ports import UnitOfWork

CHAIN_LOOKBACK = timedelta(weeks=12)


async def confirm(uow: UnitOfWork, give: Give, now: datetime) -> Give:
    """The give, confirmed now, with its forward flag and chain link decided."""
    confirmed = replace(give, status=GiveStatus.CONFIRMED, confirmed_at=now)
    if give.receiver_id is None or give.receiver_id == give.giver_id:
        return confirmed  # shared with everyone: listed, never scored
    gave_back = await uow.gives.has_given(
        give.community_id, giver_id=give.receiver_id, receiver_id=give.giver_id, before=now
    )
    previous = await uow.gives.latest_received(
        give.community_id,
        member_id=give.giver_id,
        since=now - CHAIN_LOOKBACK,
        before=now,
        not_from=give.receiver_id,
    )
    return replace(
        confirmed,
        forward=not gave_back,
        follows=previous.id if previous else None,
        depth=min(previous.depth + 1, MAX_LINKS) if previous else 0,
    )
