"""The off-loop frame pipeline: newest frame wins, skipped frames counted, never blocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from edge.errors import PayloadError
from edge.faces.detect import DetectSettings, FoundFace
from edge.faces.pipeline import FramePipeline, FrameResult
from tests.faces.conftest import InlineExecutor

T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


class GatedFinder:
    """A stand-in detector that blocks until the test lets each frame through."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.started = threading.Semaphore(0)
        self.gate = threading.Semaphore(0)

    def __call__(self, jpeg: bytes, settings: DetectSettings) -> list[FoundFace]:
        self.seen.append(jpeg)
        self.started.release()
        assert self.gate.acquire(timeout=5)
        return []


def wait_results(pipeline: FramePipeline, n: int) -> list[FrameResult]:
    out: list[FrameResult] = []
    deadline = time.monotonic() + 5
    while len(out) < n and time.monotonic() < deadline:
        out += pipeline.results()
        time.sleep(0.005)
    return out


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=2)
    yield executor
    executor.shutdown(wait=False, cancel_futures=True)


def test_newest_frame_wins_and_skipped_frames_are_counted(pool: ThreadPoolExecutor) -> None:
    finder = GatedFinder()
    pipeline = FramePipeline(DetectSettings(), workers=1, executor=pool, find=finder)
    pipeline.start()
    pipeline.submit("cam-1", b"frame-0", T0)
    assert finder.started.acquire(timeout=5)  # frame-0 is being worked on
    started = time.perf_counter()
    for i in range(1, 50):
        pipeline.submit("cam-1", f"frame-{i}".encode(), T0 + timedelta(seconds=i))
    assert time.perf_counter() - started < 0.05, "submit must not wait for the worker"
    finder.gate.release()  # frame-0 done; the newest waiting frame goes next
    assert finder.started.acquire(timeout=5)
    finder.gate.release()
    results = wait_results(pipeline, 2)
    assert finder.seen == [b"frame-0", b"frame-49"]
    assert [r.at for r in results] == [T0, T0 + timedelta(seconds=49)]
    c = pipeline.counters()["cam-1"]
    assert (c.received, c.processed, c.skipped, c.failed) == (50, 2, 48, 0)
    pipeline.close()


def test_cameras_take_turns_for_one_worker(pool: ThreadPoolExecutor) -> None:
    finder = GatedFinder()
    pipeline = FramePipeline(DetectSettings(), workers=1, executor=pool, find=finder)
    pipeline.start()
    pipeline.submit("a", b"a0", T0)
    assert finder.started.acquire(timeout=5)
    for i in range(1, 4):
        pipeline.submit("a", f"a{i}".encode(), T0)
    pipeline.submit("b", b"b0", T0)
    for _ in range(3):
        finder.gate.release()
        if len(finder.seen) < 3:
            assert finder.started.acquire(timeout=5)
    wait_results(pipeline, 3)
    # a busy camera 'a' does not starve 'b', and 'a' still gets its newest frame
    assert finder.seen == [b"a0", b"b0", b"a3"]
    pipeline.close()


def test_failures_and_oversized_frames_are_counted_not_raised() -> None:
    def broken(jpeg: bytes, settings: DetectSettings) -> list[FoundFace]:
        raise PayloadError("snapshot is not a decodable image", "truncated")

    pipeline = FramePipeline(
        DetectSettings(), max_frame_bytes=1024, executor=InlineExecutor(), find=broken
    )
    pipeline.start()
    pipeline.submit("cam", b"x" * 10, T0)
    pipeline.submit("cam", b"x" * 2000, T0)
    results = pipeline.results()
    assert [r.error for r in results] == [
        "snapshot is not a decodable image",
        "frame of 2000 bytes is over the limit",
    ]
    c = pipeline.counters()["cam"]
    assert (c.received, c.processed, c.failed) == (2, 0, 2)


def test_latest_frame_is_kept_in_memory_only_while_fresh() -> None:
    pipeline = FramePipeline(DetectSettings(), executor=InlineExecutor(), find=lambda j, s: [])
    pipeline.start()
    pipeline.submit("cam", b"jpeg-1", T0)
    pipeline.submit("cam", b"jpeg-2", T0 + timedelta(seconds=1))
    assert pipeline.latest("cam") == (b"jpeg-2", T0 + timedelta(seconds=1))
    pipeline.forget_before(T0 + timedelta(seconds=1))
    assert pipeline.latest("cam") is not None
    pipeline.forget_before(T0 + timedelta(seconds=2))
    assert pipeline.latest("cam") is None
    pipeline.close()
    pipeline.submit("cam", b"late", T0)
    assert pipeline.latest("cam") is None and pipeline.results() == []
