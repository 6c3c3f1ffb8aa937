"""Gap detection in `hallseq`, per (hall, journal): pure bookkeeping the sink persists.

A journal's numbers are counted from the first event the cloud saw of it. An event above
the highest number seen opens a gap for the numbers in between; an event below the lowest
opens one down to it; an event inside an open gap narrows it (or splits it in two, both
keeping the first gap's `first_seen`), and the last missing number closes it. A new number
that is neither above, below nor in a gap was used twice in one journal: a journal copied
back without `hall-edge journal new-identity` (counted as `reused`, never a gap).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Gap:
    from_seq: int
    to_seq: int
    first_seen: datetime
    gap_id: int | None = None  # None: not in the database yet
    closed_at: datetime | None = None
    changed: bool = False


@dataclass(slots=True)
class JournalSeqs:
    first_hallseq: int | None = None
    max_hallseq: int | None = None
    reused: int = 0


def apply(
    journal: JournalSeqs, open_gaps: list[Gap], seqs: Iterable[int], now: datetime
) -> list[Gap]:
    """Account for newly stored `seqs`; returns the gaps to write (new or changed)."""
    gaps = list(open_gaps)
    for s in sorted(set(seqs)):
        first, top = journal.first_hallseq, journal.max_hallseq
        if first is None or top is None:
            journal.first_hallseq = journal.max_hallseq = s
        elif s > top:
            if s > top + 1:
                gaps.append(Gap(top + 1, s - 1, now, changed=True))
            journal.max_hallseq = s
        elif s < first:
            if s < first - 1:
                gaps.append(Gap(s + 1, first - 1, now, changed=True))
            journal.first_hallseq = s
        else:
            _fill(journal, gaps, s, now)
    return [g for g in gaps if g.changed]


def _fill(journal: JournalSeqs, gaps: list[Gap], s: int, now: datetime) -> None:
    for g in gaps:
        if g.closed_at is None and g.from_seq <= s <= g.to_seq:
            g.changed = True
            if g.from_seq == g.to_seq:
                g.closed_at = now
            elif s == g.from_seq:
                g.from_seq += 1
            elif s == g.to_seq:
                g.to_seq -= 1
            else:
                gaps.append(Gap(s + 1, g.to_seq, g.first_seen, changed=True))
                g.to_seq = s - 1
            return
    journal.reused += 1
