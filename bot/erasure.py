"""What `forget` erases from messages: the member's own words, wherever they were quoted.

Messages carry member text as `UserText` spans (bot/copy.py): whole, split around
mentions, or as a flattened snippet ending in "…". A span carries a forgotten
member's words when, flattened, it is part of one of their texts; short spans
(under `MIN_FRAGMENT` characters) count only when they are a whole text, so that a
stray "ok" in someone else's message is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.messages import Block, Message, Span, UserText

ERASED = "[deleted]"
MIN_FRAGMENT = 8

Redact = Callable[[Message], Message | None]
"""A message with the forgotten words taken out, or None when it had none."""


def _flat(value: str) -> str:
    return " ".join(value.split())


def carries(span: UserText, texts: Sequence[str]) -> bool:
    fragment = _flat(span.text).rstrip("…").strip()
    if not fragment:
        return False
    return any(
        fragment == text or (len(fragment) >= MIN_FRAGMENT and fragment in text) for text in texts
    )


def redactor(words: Sequence[str]) -> Redact:
    """The redaction of `words` (a member's asks and notes), for OutboxRepository.forget."""
    texts = [flat for flat in (_flat(w) for w in words) if flat]

    def redact(message: Message) -> Message | None:
        changed = False
        blocks: list[Block] = []
        for block in message.blocks:
            spans: list[Span] = []
            for span in block.spans:
                if isinstance(span, UserText) and carries(span, texts):
                    spans.append(UserText(ERASED))
                    changed = True
                else:
                    spans.append(span)
            blocks.append(replace(block, spans=tuple(spans)))
        return replace(message, blocks=tuple(blocks)) if changed else None

    return redact
