"""Small wordings of the CLI and the demo summary (issue 14, item 9)."""

from __future__ import annotations

from pathlib import Path

from edge.cli.core import dead_letters_title
from edge.demo.summary import DemoResult
from edge.demo.tally import SeqReport


def test_dead_letters_title_says_none_or_counts_per_reason() -> None:
    assert dead_letters_title({}) == "dead letters (none)"
    assert dead_letters_title({"too_large": 2, "invalid_json": 3}) == (
        "dead letters (5 in all: invalid_json 3, too_large 2)"
    )


def _result(backlog: int) -> DemoResult:
    seq = SeqReport(first=1, last=10, distinct=10, missing=0, gaps=(), duplicates=0)
    return DemoResult(
        workdir=Path("/tmp"),
        kept=False,
        elapsed_s=1.0,
        events=10,
        by_type={"rating.submitted": 10},
        by_device={},
        by_source={},
        seq=seq,
        replies={},
        commands_sent=0,
        alerts=0,
        metrics={"backlog": backlog},
        journal_last_seq=10 + backlog,
        devices={},
    )


def test_the_outbox_note_counts_in_words_and_says_what_it_means() -> None:
    (one,) = [w for w in _result(1).warnings() if "outbox" in w]
    assert one.startswith("1 event was still in the outbox") and "nothing is lost" in one
    (two,) = [w for w in _result(2).warnings() if "outbox" in w]
    assert two.startswith("2 events were still in the outbox") and "sends them" in two
    assert not [w for w in _result(0).warnings() if "outbox" in w]
