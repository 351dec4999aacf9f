"""The cups matcher's rules, on hand-made profiles and a seeded random source."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import terms
from bot.pairing import (
    NEWER_BY,
    REPEAT_ROUNDS,
    Group,
    Reason,
    Topics,
    pair,
    pair_key,
    recent_pairs,
    topic_edges,
)
from bot.ports import CupsProfiles, HelpedOn, TopicAsk

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)
_ids = count(1)


def ask(asker: str, text: str, days_ago: float = 10) -> TopicAsk:
    n = next(_ids)
    return TopicAsk(n, n, asker, text, NOW - timedelta(days=days_ago))


def helped(member: str, on: TopicAsk, gave: bool = True) -> HelpedOn:
    return HelpedOn(member, on, gave, on.created_at + timedelta(hours=2))


def profiles(
    members: dict[str, datetime | None] | list[str],
    asked: list[TopicAsk] = (),  # type: ignore[assignment]
    help_: list[HelpedOn] = (),  # type: ignore[assignment]
    interests: dict[str, list[str]] | None = None,
) -> CupsProfiles:
    first_seen = members if isinstance(members, dict) else dict.fromkeys(members)
    listed = [
        (m, topic, tuple(terms.stems(topic)))
        for m, topics in (interests or {}).items()
        for topic in topics
    ]
    return CupsProfiles(dict(first_seen), list(asked), list(help_), listed)


def matched(
    data: CupsProfiles, seed: int, recent: set[tuple[str, str]] | None = None
) -> list[tuple[Group, Reason | None]]:
    """The round's groups, each with the reason its intro would give."""
    topics = Topics(data, NOW)
    found = pair(data.first_seen, topics.edges, recent or set(), random.Random(seed))
    return [(g, topics.reason(g.edge) if g.edge else None) for g in found]


def groups_of(found: list[Group]) -> set[frozenset[str]]:
    return {frozenset(g.members) for g in found}


def everyone(found: list[Group]) -> list[str]:
    return sorted(m for g in found for m in g.members)


def test_one_asked_what_the_other_helped_with_is_a_topic_pair() -> None:
    mine = ask("ana", "How do I write pytest fixtures for a database?")
    theirs = ask("zed", "pytest fixtures that open a database", days_ago=40)  # zed: not in
    data = profiles(["ana", "bo", "cy", "dee"], [mine], [helped("bo", theirs)])

    found = matched(data, 1)

    assert frozenset({"ana", "bo"}) in groups_of([g for g, _ in found])
    (reason,) = [r for _, r in found if r is not None]
    assert (reason.asker_id, reason.helper_id, reason.ask) == ("ana", "bo", mine)
    assert reason.helped is not None and reason.helped.ask == theirs


def test_a_listed_interest_is_a_topic_reason_too() -> None:
    data = profiles(
        ["ana", "bo", "cy", "dee"],
        [ask("ana", "Our helm chart values keep drifting between clusters")],
        interests={"dee": ["helm charts"], "cy": ["public speaking"]},
    )

    found = matched(data, 3)

    ((topical, reason),) = [(g, r) for g, r in found if r is not None]
    assert set(topical.members) == {"ana", "dee"}
    assert reason.topic == "helm charts" and reason.helped is None


def test_help_on_the_askers_own_ask_is_the_strongest_reason() -> None:
    question = ask("ana", "Negotiating a renewal with procurement")
    other = ask("eve", "Renewal negotiation tips for procurement teams")
    data = profiles(
        ["ana", "bo", "cy", "eve"],
        [question],
        [helped("bo", question), helped("cy", other)],
    )

    edges = topic_edges(data, NOW)

    assert edges[pair_key("ana", "bo")].score > edges[pair_key("ana", "cy")].score
    assert groups_of(pair(data.first_seen, edges, set(), random.Random(5))) >= {
        frozenset({"ana", "bo"})
    }


def test_upside_down_a_newer_helper_is_preferred_and_said_so() -> None:
    old, older, newer = (
        NOW - timedelta(days=400),
        NOW - timedelta(days=700),
        NOW - timedelta(days=20),
    )
    question = ask("ana", "Kubernetes liveness probes keep killing my pods")
    like_it = ask("fay", "liveness probes kill kubernetes pods", days_ago=60)
    data = profiles(
        {"ana": old, "ben": older, "new": newer, "fay": older},
        [question],
        [helped("ben", like_it), helped("new", like_it)],
    )

    edges = topic_edges(data, NOW)
    found = matched(data, 2)

    assert edges[pair_key("ana", "new")].score > edges[pair_key("ana", "ben")].score
    ((chosen, reason),) = [(g, r) for g, r in found if "ana" in g.members]
    assert set(chosen.members) == {"ana", "new"}
    assert reason is not None and reason.upside_down and reason.helper_id == "new"


def test_a_helper_only_slightly_newer_is_not_upside_down() -> None:
    question = ask("ana", "Kubernetes liveness probes keep killing my pods")
    seen = {"ana": NOW - timedelta(days=100), "bo": NOW - timedelta(days=100) + NEWER_BY / 2}
    data = profiles(seen, [question], [helped("bo", question)])

    (edge,) = topic_edges(data, NOW).values()

    assert not edge.upside_down and not Topics(data, NOW).reason(edge).upside_down


def test_an_odd_member_makes_one_group_of_three() -> None:
    names = [f"m{i}" for i in range(7)]

    found = pair(names, {}, set(), random.Random(11))

    assert everyone(found) == sorted(names)
    assert sorted(len(g.members) for g in found) == [2, 2, 3]


def rounds_of(names: list[str], rounds: int) -> list[list[Group]]:
    history: list[list[Group]] = []
    for round_ in range(rounds):
        recent = recent_pairs(g.members for past in history[-REPEAT_ROUNDS:] for g in past)
        history.append(pair(names, {}, recent, random.Random(round_)))
    return history


def test_no_pair_repeats_within_six_rounds() -> None:
    for size in (4, 5, 8, 10, 13):
        history = rounds_of([f"m{i}" for i in range(size)], 14)
        for n, found in enumerate(history):
            earlier = recent_pairs(g.members for past in history[max(0, n - 6) : n] for g in past)
            assert not recent_pairs(g.members for g in found) & earlier


def test_with_enough_people_everyone_meets_someone_new_every_round() -> None:
    names = [f"m{i}" for i in range(31)]
    for found in rounds_of(names, 14):
        assert everyone(found) == sorted(names)
        assert [len(g.members) for g in found].count(3) == 1


def test_with_nobody_new_left_members_sit_out_rather_than_repeat() -> None:
    names = ["a", "b", "c", "d"]
    met = {pair_key(x, y) for x in names for y in names if x < y} - {("a", "b")}

    found = pair(names, {}, met, random.Random(0))

    assert groups_of(found) == {frozenset({"a", "b"})}


def test_a_topic_pair_met_lately_is_not_paired_again() -> None:
    question = ask("ana", "Stage fright before a conference talk")
    data = profiles(["ana", "bo", "cy", "dee"], [question], [helped("bo", question)])
    edges = topic_edges(data, NOW)

    found = pair(data.first_seen, edges, {pair_key("ana", "bo")}, random.Random(4))

    assert frozenset({"ana", "bo"}) not in groups_of(found)
    assert everyone(found) == ["ana", "bo", "cy", "dee"]


def test_the_odd_member_joins_the_pair_it_shares_a_topic_with() -> None:
    question = ask("cy", "Cold outreach emails to prospects get no replies")
    data = profiles(["ana", "bo", "cy", "dee", "eve"], [question], [helped("eve", question)])
    edges = topic_edges(data, NOW)
    # cy and eve met lately: the topic can only join them in a group of three.
    recent = {pair_key("cy", "eve"), pair_key("ana", "bo"), pair_key("ana", "dee")}

    found = pair(data.first_seen, edges, recent, random.Random(9))

    assert everyone(found) == ["ana", "bo", "cy", "dee", "eve"]
    assert not recent_pairs(g.members for g in found) & recent
    assert [len(g.members) for g in found].count(3) == 1


def test_the_same_seed_pairs_the_same_way_and_another_seed_need_not() -> None:
    names = [f"m{i}" for i in range(30)]

    first = pair(names, {}, set(), random.Random("acme/2026-12-07"))
    again = pair(names, {}, set(), random.Random("acme/2026-12-07"))
    other = pair(names, {}, set(), random.Random("acme/2026-12-14"))

    assert first == again
    assert groups_of(first) != groups_of(other)


def test_words_most_asks_share_are_no_topic() -> None:
    """ "help" and "question" are in every ask: alone they pair nobody on a topic."""
    asks_ = [ask(f"m{i}", f"Question: help with thing{i}") for i in range(30)]
    help_ = [helped(f"m{(i + 1) % 30}", a) for i, a in enumerate(asks_)]
    data = profiles([f"m{i}" for i in range(30)], asks_[:1], help_)
    (only,) = topic_edges(data, NOW).values()  # m1 helped m0's own ask: that stays
    assert (only.asker_id, only.helper_id) == ("m0", "m1")


def test_an_older_ask_and_help_count_for_less() -> None:
    fresh = ask("ana", "pandas groupby is slow", days_ago=5)
    stale = ask("ana", "pandas groupby returns the wrong index", days_ago=300)
    data = profiles(["ana", "bo", "cy"], [fresh, stale], [helped("bo", fresh), helped("cy", stale)])

    edges = topic_edges(data, NOW)

    assert edges[pair_key("ana", "bo")].score > edges[pair_key("ana", "cy")].score > 0


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=25),
    met=st.sets(st.tuples(st.integers(0, 24), st.integers(0, 24)), max_size=120),
    seed=st.integers(),
)
def test_any_round_places_each_member_once_and_repeats_no_pair(
    size: int, met: set[tuple[int, int]], seed: int
) -> None:
    names = [f"m{i:02}" for i in range(size)]
    recent = {pair_key(names[a], names[b]) for a, b in met if a < b < size}

    found = pair(names, {}, recent, random.Random(seed))

    placed = [m for g in found for m in g.members]
    assert len(placed) == len(set(placed)) and set(placed) <= set(names)
    assert not recent_pairs(g.members for g in found) & recent
    assert all(len(g.members) in (2, 3) for g in found)
    assert [len(g.members) for g in found].count(3) <= 1
    if not recent:
        assert sorted(placed) == names if size != 1 else placed == []
