"""Buttons and modals whose custom ids carry everything needed to act on them.

A button's custom id is `pf:<guild_id>:<action>:<value>` (e.g. `pf:42:offer:7`): a
`DynamicItem` registered once on the client recognises it, so the buttons of every
card and DM keep working after a restart, and a press in a DM (which has no guild)
still knows its community. Modals work the same way: the modal's custom id is
`pf:<guild_id>:form:<form>:<value>` and each input's custom id is `<kind>:<field>`, so
a submission is read from the interaction payload alone, not from a modal object
that a restart would have lost.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import discord

from adapters.discord.render import BUTTON_STYLES
from bot.events import FieldValue
from bot.messages import Button, FieldKind, Form, FormField

PREFIX = "pf"
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 45  # modal titles and input labels
DESCRIPTION_LIMIT = 100  # the small print under a label
BUTTON_LABEL_LIMIT = 80
OPTIONS_LIMIT = 25
MODAL_TIMEOUT = 15 * 60.0  # an interaction token lives 15 minutes
YES, NO = "yes", "no"

_BUTTON_ID = rf"{PREFIX}:(?P<guild>\d+):(?P<action>[a-z_]+):(?P<value>[\w.-]*)"
_FORM_ID = re.compile(rf"{PREFIX}:(?P<guild>\d+):form:(?P<form>[a-z_]+):(?P<value>[\w.-]*)")
_KIND_CODES = {
    FieldKind.TEXT: "t",
    FieldKind.LONG_TEXT: "l",
    FieldKind.MEMBERS: "m",
    FieldKind.MEMBER: "u",
    FieldKind.BOOLEAN: "b",
}
_KINDS = {code: kind for kind, code in _KIND_CODES.items()}


class ButtonHandler(Protocol):
    async def on_button(
        self, interaction: discord.Interaction, guild_id: int, action: str, value: str
    ) -> None: ...


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=_BUTTON_ID,
):
    """One core `Button`; pressing it hands (guild, action, value) to the adapter."""

    def __init__(
        self,
        guild_id: int,
        action: str,
        value: str,
        *,
        label: str = "…",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        self.guild_id = guild_id
        self.action = action
        self.value = value
        custom_id = button_custom_id(guild_id, action, value)
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ActionButton:
        return cls(int(match["guild"]), match["action"], match["value"])

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: ButtonHandler = getattr(interaction.client, "bridge")  # noqa: B009
        await handler.on_button(interaction, self.guild_id, self.action, self.value)


def button_custom_id(guild_id: int, action: str, value: str) -> str:
    custom_id = f"{PREFIX}:{guild_id}:{action}:{value}"
    if len(custom_id) > CUSTOM_ID_LIMIT or not re.fullmatch(_BUTTON_ID, custom_id):
        raise ValueError(f"button {action!r}/{value!r} does not fit a Discord custom id")
    return custom_id


def build_view(guild_id: int, buttons: Sequence[Button]) -> discord.ui.View | None:
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(
            ActionButton(
                guild_id,
                button.action,
                button.value,
                label=button.label[:BUTTON_LABEL_LIMIT],
                style=BUTTON_STYLES[button.style],
            )
        )
    return view


# Modals.

NameOf = Callable[[Sequence[str]], Awaitable[Mapping[str, str]]]


async def build_modal(guild_id: int, form: Form, names_of: NameOf) -> discord.ui.Modal:
    """The form as a modal; member choices are labelled with the names `names_of` finds."""
    custom_id = f"{PREFIX}:{guild_id}:form:{form.form}:{form.value}"
    if len(custom_id) > CUSTOM_ID_LIMIT or not _FORM_ID.fullmatch(custom_id):
        raise ValueError(f"form {form.form!r}/{form.value!r} does not fit a Discord custom id")
    modal = discord.ui.Modal(
        title=form.title[:LABEL_LIMIT], custom_id=custom_id, timeout=MODAL_TIMEOUT
    )
    wanted = [m for f in form.fields for m in (*f.options, *f.initial)]
    names = await names_of(list(dict.fromkeys(wanted))) if wanted else {}
    for i, field in enumerate(form.fields[:5]):
        intro = form.intro[:DESCRIPTION_LIMIT] if i == 0 and form.intro else None
        label = discord.ui.Label(
            text=field.label[:LABEL_LIMIT], description=intro, component=_input(field, names)
        )
        modal.add_item(label)
    return modal


def _input(field: FormField, names: Mapping[str, str]) -> discord.ui.Item[Any]:
    custom_id = f"{_KIND_CODES[field.kind]}:{field.name}"
    if field.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        style = discord.TextStyle.short if field.kind is FieldKind.TEXT else discord.TextStyle.long
        return discord.ui.TextInput(
            custom_id=custom_id,
            style=style,
            required=field.required,
            max_length=min(field.max_length or 4000, 4000),
        )
    if field.kind is FieldKind.BOOLEAN:
        return discord.ui.Select(
            custom_id=custom_id,
            required=field.required,
            options=[
                discord.SelectOption(label="Yes", value=YES),
                discord.SelectOption(label="No", value=NO, default=True),
            ],
        )
    single = field.kind is FieldKind.MEMBER
    if field.options:
        options = [
            discord.SelectOption(
                label=(names.get(member) or f"member …{member[-4:]}")[:100],
                value=member,
                default=member in field.initial,
            )
            for member in field.options[:OPTIONS_LIMIT]
        ]
        return discord.ui.Select(
            custom_id=custom_id,
            required=field.required,
            min_values=1 if field.required else 0,
            max_values=1 if single else len(options),
            options=options,
        )
    return discord.ui.UserSelect(
        custom_id=custom_id,
        required=field.required,
        min_values=1 if field.required else 0,
        max_values=1 if single else OPTIONS_LIMIT,
        default_values=[discord.Object(int(m)) for m in field.initial if m.isdigit()],
    )


def parse_form_id(custom_id: str) -> tuple[int, str, str] | None:
    """(guild_id, form, value) of one of our modals, else None."""
    match = _FORM_ID.fullmatch(custom_id)
    if match is None:
        return None
    return int(match["guild"]), match["form"], match["value"]


def submitted_fields(components: Sequence[Mapping[str, Any]]) -> dict[str, FieldValue]:
    """The values of a modal submission, by field name, typed by each input's kind."""
    fields: dict[str, FieldValue] = {}
    for leaf in _leaves(components):
        code, _, name = str(leaf.get("custom_id", "")).partition(":")
        kind = _KINDS.get(code)
        if kind is None or not name:
            continue
        if kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
            fields[name] = str(leaf.get("value") or "")
            continue
        values = tuple(str(v) for v in leaf.get("values") or ())
        if kind is FieldKind.BOOLEAN:
            fields[name] = values == (YES,)
        elif kind is FieldKind.MEMBER:
            fields[name] = values[0] if values else None
        else:
            fields[name] = values
    return fields


def _leaves(components: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    leaves: list[Mapping[str, Any]] = []
    for component in components:
        if component.get("type") == 1:  # an action row
            leaves.extend(_leaves(component.get("components") or ()))
        elif component.get("type") == 18:  # a label around one input
            inner = component.get("component")
            if inner:
                leaves.extend(_leaves([inner]))
        else:
            leaves.append(component)
    return leaves
