"""One name per emoji, whatever the platform sends.

Slack gives `raising_hand` or `raising_hand::skin-tone-3`, Discord gives `🙋🏽` or
`<:custom:123>`, and admins type `:raising_hand:`: all of them are `raising_hand`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import emoji

_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")
_SLACK_SKIN_TONE = re.compile(r"::skin-tone-\d$")
_CUSTOM_DISCORD = re.compile(r"^<a?:([\w~-]+):\d+>$")
_NAME = re.compile(r"^:?([\w+~-]+):?$")


@lru_cache(maxsize=4096)  # every reaction asks; the emoji library's lookups are slow
def canonical(raw: str) -> str | None:
    """The emoji's short name (Slack style, `raising_hand`), or None if it is no emoji."""
    value = raw.strip()
    if not value:
        return None
    custom = _CUSTOM_DISCORD.match(value)
    if custom:
        return custom.group(1).lower()
    value = _SLACK_SKIN_TONE.sub("", value)
    if emoji.is_emoji(_SKIN_TONES.sub("", value)):
        named = emoji.demojize(_SKIN_TONES.sub("", value), language="alias")
        return named.strip(":").lower()
    name = _NAME.match(value)
    if name is None:
        return None
    as_glyph = emoji.emojize(f":{name.group(1).lower()}:", language="alias")
    if emoji.is_emoji(as_glyph):  # `+1` and `thumbsup` are one emoji
        return emoji.demojize(as_glyph, language="alias").strip(":")
    return name.group(1).lower()


@lru_cache(maxsize=1024)
def glyph(name: str) -> str:
    """The unicode character for a short name, or `:name:` when there is none (custom)."""
    rendered = emoji.emojize(f":{name}:", language="alias")
    return rendered if rendered != f":{name}:" else f":{name}:"


def same(a: str, b: str) -> bool:
    ca, cb = canonical(a), canonical(b)
    return ca is not None and ca == cb
