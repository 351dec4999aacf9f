"""The console's render-out: a normalized `Message` or `Form` as plain text lines.

Transcripts are read by people and grepped by scripts, so the output is plain and
stable: one block per message, a header line saying who can see it, a blank line after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.messages import Block, FieldKind, Form, FormField, Message, Style, render_spans

NameOf = Callable[[str], str]


def channel_header(channel_id: str, *, edited: bool = False) -> str:
    """`[#general]`: a message everyone in the channel sees."""
    return f"[#{channel_id}]" + (" (edited)" if edited else "")


def dm_header(name: str, *, edited: bool = False) -> str:
    return f"[DM @{name}]" + (" (edited)" if edited else "")


def only_header(name: str) -> str:
    """An ephemeral answer, or the console's own remark, seen by one member only."""
    return f"[only @{name}]"


def block_text(header: str, lines: Iterable[str]) -> str:
    """A whole printed block, including the blank line that separates it from the next."""
    return "\n".join([header, *lines]) + "\n\n"


def render_message(message: Message, name_of: NameOf) -> list[str]:
    lines = [line for block in message.blocks for line in render_block(block, name_of)]
    if message.ask_number is not None:
        lines = _with_ask_number(lines, message.ask_number)
    if message.attachment is not None:
        lines.append(f"📎 {message.attachment.filename}")
        lines.extend(message.attachment.content.splitlines())
    if message.buttons:
        lines.append(" ".join(f"[{button.label}]" for button in message.buttons))
    return lines


def render_block(block: Block, name_of: NameOf) -> list[str]:
    body = render_spans(block.spans, name_of).splitlines() or [""]
    if block.style is Style.HEADING:
        return [f"**{' '.join(body)}**"]
    if block.style is Style.QUOTE:
        return [f"> {line}".rstrip() for line in body]
    if block.style is Style.ITEM:
        return [f"• {body[0]}", *(f"  {line}" for line in body[1:])]
    return body


def _with_ask_number(lines: list[str], number: int) -> list[str]:
    """Make sure `#N` shows, without repeating it when the copy already has it."""
    tag = re.compile(rf"(?<![\w#])#{number}(?!\d)")
    if any(tag.search(line) for line in lines):
        return lines
    if not lines:
        return [f"#{number}"]
    return [f"#{number} {lines[0]}", *lines[1:]]


def render_form(form: Form) -> list[str]:
    """The form's heading lines; its fields are asked one by one (`field_question`)."""
    lines = [f"**{form.title}**"]
    if form.intro:
        lines.extend(form.intro.splitlines())
    return lines


def field_question(field: FormField, name_of: NameOf) -> str:
    return f"? {field.label} ({'; '.join(_field_hints(field, name_of))})"


def _field_hints(field: FormField, name_of: NameOf) -> list[str]:
    def names(ids: Iterable[str]) -> str:
        return " ".join(f"@{name_of(member_id)}" for member_id in ids)

    if field.kind is FieldKind.MEMBERS:
        hints = [names(field.options) if field.options else "names separated by spaces"]
        if field.initial:
            hints += [f"Enter keeps {names(field.initial)}", "- for nobody"]
        elif field.required:
            hints.append("at least one")
        else:
            hints.append("Enter for nobody")
        return hints
    if field.kind is FieldKind.MEMBER:
        hints = [f"one of {names(field.options)}" if field.options else "one name"]
        if field.initial:
            hints += [f"Enter keeps {names(field.initial[:1])}", "- for nobody"]
        elif not field.required:
            hints.append("Enter for nobody")
        return hints
    if field.kind is FieldKind.BOOLEAN:
        return ["y/n", "Enter for no"]
    hints = [f"up to {field.max_length} characters"] if field.max_length else []
    hints.append("required" if field.required else "Enter to skip")
    return hints
