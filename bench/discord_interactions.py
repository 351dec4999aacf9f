"""Discord interactions through the whole stack: real discord.py, the adapter, the core on
SQLite, against the loopback fake Discord from the tests.

Figures: the time from the fake sending INTERACTION_CREATE to the interaction callback
arriving back (p50/p99) at a steady 50 interactions/s, and interactions handled per
second in a burst. Each `/ask` also queues its card, which the outbox posts while the
next interactions arrive, as in production.

Baseline, measured in the same run against the same fake: a bare discord.py bot whose
`/ask` only answers "ok". Targets: payforward p50 ≤ 1.5× the bare bot's; p99 ≤ 100 ms.

    python -m bench.discord_interactions [--paced 500] [--burst 300] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import discord
from discord import app_commands

from adapters.discord.client import DiscordAdapter, intents
from adapters.discord.gateway import point_at
from bot.clock import SystemClock
from bot.ports import ChatAdapter
from payforward.bootstrap import migrate, open_core
from payforward.runtime import Runtime
from payforward.settings import Settings
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord

GUILD = 81_000_000_000_000_001
CHANNEL = 82_000_000_000_000_001
MEMBERS = [83_000_000_000_000_100 + i for i in range(50)]
WARM_UP = 20


@dataclass(frozen=True)
class Figures:
    name: str
    p50_ms: float  # INTERACTION_CREATE → the interaction callback (the acknowledgement)
    p99_ms: float
    per_second: float  # callbacks per second in a burst
    answer_p50_ms: float  # INTERACTION_CREATE → the answer's content (callback or edit)
    answer_p99_ms: float
    answers_per_second: float


class BareBot(discord.Client):
    """The baseline: discord.py with a command tree, answering every /ask with "ok"."""

    def __init__(self) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ask", description="ask")
        async def ask(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message("ok", ephemeral=True)


async def newest_session(fake: FakeDiscord, count: int) -> str:
    await fake.wait_until(lambda: len(fake.sessions) >= count, within=30)
    return list(fake.sessions)[-1]


async def send_asks(fake: FakeDiscord, count: int, rate: float | None, tag: str) -> list[str]:
    """Dispatch `count` /ask interactions, paced at `rate` per second (None: at once)."""
    ids: list[str] = []
    start = time.perf_counter()
    for i in range(count):
        if rate is not None:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        member = MEMBERS[i % len(MEMBERS)]
        option = {"type": 3, "name": "text", "value": f"{tag} question {i}: how do I…?"}
        payload = await fake.command(GUILD, CHANNEL, member, "ask", [option])
        ids.append(payload["id"])
    await fake.wait_until(lambda: all(i in fake.replied_at for i in ids), within=300)
    return ids


async def measure(
    name: str, fake: FakeDiscord, session: str, paced: int, burst: int, rate: float
) -> Figures:
    fake.route_to = session
    await send_asks(fake, WARM_UP, rate, f"{name}-warm")
    ids = await send_asks(fake, paced, rate, f"{name}-paced")
    acks = sorted((fake.answered_at[i] - fake.dispatched_at[i]) * 1000 for i in ids)
    answers = sorted((fake.replied_at[i] - fake.dispatched_at[i]) * 1000 for i in ids)
    ids = await send_asks(fake, burst, None, f"{name}-burst")
    began = min(fake.dispatched_at[i] for i in ids)
    acked = max(fake.answered_at[i] for i in ids) - began
    answered = max(fake.replied_at[i] for i in ids) - began
    return Figures(
        name,
        statistics.median(acks),
        p99(acks),
        burst / acked,
        statistics.median(answers),
        p99(answers),
        burst / answered,
    )


def p99(sorted_values: list[float]) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * 0.99))]


async def main(paced: int, burst: int, rate: float) -> None:
    fake = FakeDiscord()
    for i, member in enumerate(MEMBERS):
        fake.add_user(member, f"member{i}")
    fake.add_guild(GUILD, "Bench", {CHANNEL: "general"})
    await fake.start()
    point_at(fake.api_url, fake.gateway_url)
    folder = Path(tempfile.mkdtemp(prefix="payforward-bench-"))
    settings = Settings(_env_file=None, database_url=f"sqlite:///{folder / 'bench.db'}")  # type: ignore[call-arg]
    await migrate(settings)

    bare = BareBot()
    await bare.login(TOKEN)
    bare_task = asyncio.create_task(bare.connect())
    await bare.wait_until_ready()
    bare_session = await newest_session(fake, 1)

    adapters: dict[str, ChatAdapter] = {}
    async with open_core(settings, SystemClock(), adapters) as core:
        runtime = Runtime(core)
        adapter = DiscordAdapter(
            token=TOKEN,
            handle=runtime.handle,
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            guild_ready_timeout=0.05,
        )
        adapters[adapter.platform] = adapter
        await adapter.start()
        await runtime.start()
        payforward_session = await newest_session(fake, 2)
        try:
            results = [
                await measure("bare discord.py", fake, bare_session, paced, burst, rate),
                await measure("payforward", fake, payforward_session, paced, burst, rate),
            ]
        finally:
            await runtime.stop()
            await adapter.stop()
            await bare.close()
            with contextlib.suppress(Exception):
                await bare_task
            await fake.close()

    print(f"/ask: {paced} interactions paced at {rate:g}/s, then {burst} in a burst")
    print("callback: INTERACTION_CREATE → interaction callback (what Discord's 3 s deadline is on)")
    print("answer:   INTERACTION_CREATE → the reply's content (the callback, or the edit after it)")
    print(
        f"{'':18}{'callback p50':>13}{'p99':>11}{'burst/s':>9}"
        f"{'answer p50':>13}{'p99':>11}{'burst/s':>9}"
    )
    for f in results:
        print(
            f"{f.name:18}{f.p50_ms:10.2f} ms{f.p99_ms:8.1f} ms{f.per_second:9.0f}"
            f"{f.answer_p50_ms:10.2f} ms{f.answer_p99_ms:8.1f} ms{f.answers_per_second:9.0f}"
        )
    base, ours = results
    print(
        f"p50 ratio {ours.p50_ms / base.p50_ms:.2f}× the bare bot (target ≤ 1.5×); "
        f"p99 {ours.p99_ms:.1f} ms (target ≤ 100 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paced", type=int, default=500)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.paced, args.burst, args.rate))
