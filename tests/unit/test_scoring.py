from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chains import chains_of_week
from bot.domain import GiveFact
from bot.scoring import Standing, counted, is_forward, sparkline, weekly_table

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def give(giver: str, receiver: str, hours: float = 0) -> GiveFact:
    return GiveFact(giver, receiver, T0 + timedelta(hours=hours))


def test_rank_by_helped_then_forward_then_gives() -> None:
    facts = [
        give("ann", "x", 1),
        give("ann", "y", 2),  # ann: helped 2
        give("bob", "x", 1),
        give("bob", "x", 2),
        give("bob", "x", 3),  # bob: helped 1, gives 3
        give("cat", "z", 1),  # cat: helped 1, gives 1
    ]
    table = weekly_table(facts, {})
    assert [(s.member_id, s.helped, s.forward, s.gives, s.rank) for s in table] == [
        ("ann", 2, 2, 2, 1),
        ("bob", 1, 3, 3, 2),
        ("cat", 1, 1, 1, 3),
    ]


def test_equal_triples_share_a_rank_and_the_next_rank_skips() -> None:
    table = weekly_table(
        [give("ann", "x"), give("bob", "y"), give("cat", "x"), give("cat", "y")], {}
    )
    assert [(s.member_id, s.rank) for s in table] == [("cat", 1), ("ann", 2), ("bob", 2)]
    tied = weekly_table(
        [give("ann", "x"), give("bob", "y"), give("dan", "z", 1), give("dan", "z", 2)], {}
    )
    assert [s.rank for s in tied] == [1, 2, 2]
    three = weekly_table([give("a", "x"), give("b", "x"), give("c", "y"), give("c", "y", 1)], {})
    assert [(s.member_id, s.rank) for s in three] == [("c", 1), ("a", 2), ("b", 2)]


def test_competition_ranking_is_one_one_three() -> None:
    table = weekly_table(
        [give("a", "x"), give("a", "y"), give("b", "x"), give("b", "y"), give("c", "z")], {}
    )
    assert [s.rank for s in table] == [1, 1, 3]


def test_pair_cap_counts_at_most_three_gives_per_pair_a_week() -> None:
    facts = [give("ann", "bob", h) for h in range(5)] + [give("ann", "cat", 9)]
    [ann] = weekly_table(facts, {})
    assert (ann.helped, ann.gives) == (2, 4)
    assert len(counted(facts)) == 4


def test_self_gives_never_count() -> None:
    assert weekly_table([give("ann", "ann")], {}) == []


def test_forward_means_the_receiver_never_gave_to_the_giver_before() -> None:
    before = T0 - timedelta(days=30)
    facts = [give("ann", "bob"), give("ann", "cat")]
    reverse = {("ann", "bob"): before}  # bob had helped ann a month ago
    [ann] = weekly_table(facts, reverse)
    assert (ann.helped, ann.forward, ann.gives) == (2, 1, 2)


def test_a_return_given_later_does_not_undo_a_forward_give() -> None:
    fact = give("ann", "bob", 1)
    assert is_forward(fact, {("ann", "bob"): fact.at + timedelta(hours=1)})
    assert not is_forward(fact, {("ann", "bob"): fact.at - timedelta(seconds=1)})


def test_opted_out_members_are_left_out_but_still_counted_for_others() -> None:
    facts = [give("ann", "bob"), give("bob", "cat"), give("cat", "ann")]
    table = weekly_table(facts, {}, hidden={"bob"})
    assert [s.member_id for s in table] == ["ann", "cat"]
    assert all(s.rank == 1 for s in table)


def test_offers_alone_never_score() -> None:
    assert weekly_table([], {}) == []


def test_standings_are_plain_values() -> None:
    assert weekly_table([give("a", "b")], {}) == [Standing("a", 1, 1, 1, 1)]


def test_sparkline_scales_to_the_busiest_week_and_marks_empty_weeks_lowest() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([5] * 12) == "█" * 12
    assert len(sparkline([3, 0, 1, 9, 2, 0, 0, 4, 4, 1, 0, 7])) == 12


def test_chain_a_helped_b_who_helped_c() -> None:
    earlier = [give("ann", "bob", -48)]
    week = [give("bob", "cat", 1)]
    [chain] = chains_of_week(week, earlier)
    assert chain.members == ("ann", "bob", "cat")


def test_help_returned_to_the_same_person_is_no_chain() -> None:
    assert chains_of_week([give("bob", "ann", 1)], [give("ann", "bob", -5)]) == []


def test_a_chain_needs_the_earlier_help_to_come_first() -> None:
    assert chains_of_week([give("bob", "cat", 1)], [give("ann", "bob", 2)]) == []


def test_longer_chains_swallow_their_parts_and_come_first() -> None:
    earlier = [give("ann", "bob", -72), give("bob", "cat", -48)]
    week = [give("cat", "dan", 1), give("eve", "fay", 2), give("fay", "gus", 3)]
    chains = chains_of_week(week, earlier)
    assert [c.members for c in chains] == [("ann", "bob", "cat", "dan"), ("eve", "fay", "gus")]


def test_chains_never_visit_a_member_twice() -> None:
    earlier = [give("cat", "ann", -90), give("ann", "bob", -48)]
    [chain] = chains_of_week([give("bob", "cat", 1)], earlier)
    assert chain.members == ("ann", "bob", "cat")


def test_chains_through_hidden_members_are_not_shown() -> None:
    assert chains_of_week([give("bob", "cat", 1)], [give("ann", "bob", -1)], exclude={"bob"}) == []
