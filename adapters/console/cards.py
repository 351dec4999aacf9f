"""Ask cards from earlier console sessions.

The console points at a card through what it printed, and a new session has printed
nothing yet; the database still knows every ask's card. So `:react 3 🙋` or
`:press 3 Resolved` on an ask from yesterday's session finds the card there, rendered
as it stands now.
"""

from __future__ import annotations

from bot.context import render_card
from bot.domain import MessageRef
from bot.messages import Message
from bot.ports import UnitOfWorkFactory


class EarlierCards:
    def __init__(self, uow: UnitOfWorkFactory, community_id: str) -> None:
        self._uow = uow
        self._community_id = community_id

    async def card(self, number: int) -> tuple[MessageRef, Message] | None:
        """Where ask #N's card is and what it shows; None for an unknown ask."""
        async with self._uow() as uow:
            ask = await uow.asks.by_number(self._community_id, number)
            community = await uow.communities.get(self._community_id)
            if ask is None or ask.message is None or community is None:
                return None
            return ask.message, await render_card(uow, community, ask)
