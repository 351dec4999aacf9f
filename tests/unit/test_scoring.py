from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chains import chain_from, chains_of_week
from bot.domain import GiveFact, PairWeek
from bot.scoring import Standing, sparkline, weekly_table

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def give(giver: str, receiver: str, hours: float = 0) -> GiveFact:
    return GiveFact(giver, receiver, T0 + timedelta(hours=hours))


def pairs(
    *gives: tuple[str, str] | tuple[str, str, int] | tuple[str, str, int, int],
) -> list[PairWeek]:
    """(giver, receiver[, gives[, forward]]); forward defaults to all of them."""
    out = []
    for g in gives:
        n = g[2] if len(g) > 2 else 1  # type: ignore[misc]
        fwd = g[3] if len(g) > 3 else n  # type: ignore[misc]
        out.append(PairWeek(g[0], g[1], n, fwd))
    return out


def table(
    *gives: tuple[str, str] | tuple[str, str, int] | tuple[str, str, int, int],
    hidden: set[str] | None = None,
) -> list[tuple[str, int, int, int, int]]:
    return [
        (s.member_id, s.helped, s.forward, s.gives, s.rank)
        for s in weekly_table(pairs(*gives), hidden or set())
    ]


def test_rank_by_helped_then_forward_then_gives() -> None:
    assert table(("ann", "x"), ("ann", "y"), ("bob", "x", 3), ("cat", "z")) == [
        ("ann", 2, 2, 2, 1),
        ("bob", 1, 3, 3, 2),
        ("cat", 1, 1, 1, 3),
    ]
    assert table(("ann", "x", 2, 0), ("bob", "y", 1, 1)) == [
        ("bob", 1, 1, 1, 1),
        ("ann", 1, 0, 2, 2),
    ]


def test_equal_triples_share_a_rank_and_the_next_rank_skips() -> None:
    ranks = table(("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("c", "z"))
    assert [(m, r) for m, *_, r in ranks] == [("a", 1), ("b", 1), ("c", 3)]
    tied = table(("ann", "x"), ("bob", "y"), ("dan", "z", 2))
    assert [(m, r) for m, *_, r in tied] == [("dan", 1), ("ann", 2), ("bob", 2)]
    reversed_input = table(("cat", "x"), ("bob", "y"), ("ann", "z"))
    assert [m for m, *_ in reversed_input] == ["ann", "bob", "cat"]  # ties by member id


def test_pair_cap_counts_at_most_three_gives_per_pair_a_week() -> None:
    assert table(("ann", "bob", 5), ("ann", "cat")) == [("ann", 2, 4, 4, 1)]
    assert weekly_table([PairWeek("ann", "bob", 5, 5)]) == [("ann", 1, 3, 3, 1)]


def test_capped_gives_keep_the_forward_ones_first() -> None:
    # 2 forward gives, then bob gave back, then 3 more: the 3 that count hold both forward ones.
    assert weekly_table([PairWeek("ann", "bob", 5, 2)]) == [("ann", 1, 2, 3, 1)]
    assert weekly_table([PairWeek("ann", "bob", 2, 0)]) == [("ann", 1, 0, 2, 1)]


def test_self_gives_never_count() -> None:
    assert table(("ann", "ann", 3)) == []


def test_opted_out_members_are_left_out_but_still_counted_for_others() -> None:
    ranks = table(("ann", "bob"), ("bob", "cat"), ("cat", "ann"), hidden={"bob"})
    assert [(m, r) for m, *_, r in ranks] == [("ann", 1), ("cat", 1)]


def test_offers_alone_never_score() -> None:
    assert weekly_table([]) == []


def test_standings_are_plain_values() -> None:
    assert weekly_table(pairs(("a", "b"))) == [Standing("a", 1, 1, 1, 1)]


def test_sparkline_scales_to_the_busiest_week_and_marks_empty_weeks_lowest() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([5] * 12) == "█" * 12
    assert len(sparkline([3, 0, 1, 9, 2, 0, 0, 4, 4, 1, 0, 7])) == 12


def path(*links: tuple[str, str]) -> list[GiveFact]:
    return [give(a, b, float(i)) for i, (a, b) in enumerate(links)]


def test_chain_a_helped_b_who_helped_c() -> None:
    [chain] = chains_of_week([path(("ann", "bob"), ("bob", "cat"))])
    assert chain.members == ("ann", "bob", "cat")


def test_help_returned_to_the_same_person_is_no_chain() -> None:
    assert chains_of_week([path(("ann", "bob"), ("bob", "ann"))]) == []
    assert chain_from([give("ann", "bob")]) is None


def test_longer_chains_swallow_their_parts_and_come_first() -> None:
    long = path(("ann", "bob"), ("bob", "cat"), ("cat", "dan"))
    chains = chains_of_week([long[1:], path(("eve", "fay"), ("fay", "gus")), long])
    assert [c.members for c in chains] == [("ann", "bob", "cat", "dan"), ("eve", "fay", "gus")]


def test_chains_never_visit_a_member_twice() -> None:
    [chain] = chains_of_week([path(("cat", "ann"), ("ann", "bob"), ("bob", "cat"))])
    assert chain.members == ("ann", "bob", "cat")


def test_chains_through_hidden_members_are_not_shown() -> None:
    assert chains_of_week([path(("ann", "bob"), ("bob", "cat"))], exclude={"bob"}) == []


def test_at_most_the_limit_is_shown() -> None:
    many = [path((f"a{i}", f"b{i}"), (f"b{i}", f"c{i}")) for i in range(9)]
    assert len(chains_of_week(many, limit=5)) == 5
