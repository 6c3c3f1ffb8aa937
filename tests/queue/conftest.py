"""Fixtures of the queue tests: a hall (manager + SQLite journal) in a temp dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.queue.hall import Hall, queue_section


@pytest.fixture
def make_hall(tmp_path: Path) -> Iterator[Callable[..., Hall]]:
    """make_hall(**queue_overrides) -> a Hall on its own journal file."""
    halls: list[Hall] = []

    def make(**overrides: Any) -> Hall:
        hall = Hall(tmp_path / f"journal-{len(halls)}.db", queue_section(**overrides))
        halls.append(hall)
        return hall

    yield make
    for hall in halls:
        hall.journal.close()


@pytest.fixture
def hall(make_hall: Callable[..., Hall]) -> Hall:
    return make_hall()
