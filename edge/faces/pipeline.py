"""Frames to faces, off the event loop: newest frame wins per camera, skipped frames counted.

dlib releases the GIL while detecting but holds it for the whole of an encoding (about
0.1 s per face, measured here), so a thread pool would stall the hub's event loop: the
work runs in worker processes (spawned, not forked, because the hub has threads).

Each camera has one slot holding its newest unprocessed frame and at most one frame in
work. A frame that arrives while the slot is full replaces it and the replaced one is
counted as skipped; when a worker frees up, the camera that has waited longest gets it.
So a camera faster than the workers is sampled, never queued, and `submit` costs O(1).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from edge.errors import PayloadError
from edge.faces.detect import DetectSettings, FoundFace, find_faces, warm_up

__all__ = ["CameraCounters", "FindFaces", "FramePipeline", "FrameResult"]

log = logging.getLogger(__name__)

FindFaces = Callable[[bytes, DetectSettings], list[FoundFace]]


@dataclass(slots=True)
class CameraCounters:
    """Frame accounting of one camera since start."""

    received: int = 0
    processed: int = 0
    skipped: int = 0  # replaced by a newer frame before a worker took them
    failed: int = 0  # undecodable, oversized, or the worker failed


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The faces found in one processed frame (faces is empty on failure)."""

    camera_id: str
    at: datetime
    faces: list[FoundFace] = field(default_factory=list)
    error: str | None = None


def _init_worker() -> None:
    warm_up()


@dataclass(slots=True)
class _Frame:
    jpeg: bytes
    at: datetime


class FramePipeline:
    """Schedules frames of every camera onto a bounded set of workers."""

    def __init__(
        self,
        settings: DetectSettings,
        *,
        workers: int = 1,
        max_frame_bytes: int = 4_000_000,
        executor: Executor | None = None,
        find: FindFaces = find_faces,
        on_result: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.max_frame_bytes = max_frame_bytes
        self._find = find
        self._on_result = on_result
        self._executor = executor
        self._own_executor = executor is None
        self._lock = threading.RLock()
        self._pending: dict[str, _Frame] = {}
        self._latest: dict[str, _Frame] = {}
        self._busy: set[str] = set()
        self._ready: deque[str] = deque()
        self._in_flight = 0
        self._results: deque[FrameResult] = deque()
        self._counters: dict[str, CameraCounters] = {}
        self._closed = False
        self.restarts = 0

    # -- lifetime ------------------------------------------------------------------------

    def _new_executor(self) -> Executor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )

    def start(self) -> None:
        """Start the workers and have them load the models before the first frame."""
        with self._lock:
            if self._executor is None:
                self._executor = self._new_executor()
            executor = self._executor
        if self._own_executor:
            executor.submit(warm_up)

    def close(self) -> None:
        """Stop the workers; frames still waiting are dropped (they are not kept anywhere)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            self._pending.clear()
            self._latest.clear()
            self._ready.clear()
            self._results.clear()
        if executor is not None and self._own_executor:
            executor.shutdown(wait=True, cancel_futures=True)

    # -- frames in -----------------------------------------------------------------------

    def submit(self, camera_id: str, jpeg: bytes, at: datetime) -> None:
        """Hand over a camera's frame; never blocks (a frame still waiting is replaced)."""
        with self._lock:
            if self._closed:
                return
            counters = self._counters.setdefault(camera_id, CameraCounters())
            counters.received += 1
            if len(jpeg) > self.max_frame_bytes:
                counters.failed += 1
                self._results.append(
                    FrameResult(
                        camera_id, at, error=f"frame of {len(jpeg)} bytes is over the limit"
                    )
                )
                return
            frame = _Frame(jpeg, at)
            if camera_id in self._pending:
                counters.skipped += 1
            self._pending[camera_id] = frame
            self._latest[camera_id] = frame
            if camera_id not in self._busy and camera_id not in self._ready:
                self._ready.append(camera_id)
        self._dispatch()

    def _dispatch(self) -> None:
        jobs: list[tuple[str, _Frame]] = []
        with self._lock:
            if self._closed or self._executor is None:
                return
            while self._in_flight < self.workers and self._ready:
                camera_id = self._ready.popleft()
                frame = self._pending.pop(camera_id, None)
                if frame is None:
                    continue
                self._busy.add(camera_id)
                self._in_flight += 1
                jobs.append((camera_id, frame))
            executor = self._executor
        # Submitting outside the lock: a synchronous executor runs the callback at once.
        for camera_id, frame in jobs:
            try:
                future = executor.submit(self._find, frame.jpeg, self.settings)
            except RuntimeError as exc:  # shut down meanwhile
                self._finish(camera_id, FrameResult(camera_id, frame.at, error=str(exc)))
                continue
            future.add_done_callback(partial(self._done, camera_id, frame.at))

    def _done(self, camera_id: str, at: datetime, future: Future[list[FoundFace]]) -> None:
        if future.cancelled():
            result = FrameResult(camera_id, at, error="cancelled")
        elif (exc := future.exception()) is not None:
            if isinstance(exc, BrokenProcessPool):
                self._replace_broken_pool()
            reason = exc.reason if isinstance(exc, PayloadError) else f"{type(exc).__name__}: {exc}"
            result = FrameResult(camera_id, at, error=reason)
        else:
            result = FrameResult(camera_id, at, faces=future.result())
        self._finish(camera_id, result)

    def _finish(self, camera_id: str, result: FrameResult) -> None:
        with self._lock:
            self._in_flight -= 1
            self._busy.discard(camera_id)
            counters = self._counters.setdefault(camera_id, CameraCounters())
            if result.error is None:
                counters.processed += 1
            else:
                counters.failed += 1
            if not self._closed:
                self._results.append(result)
                if camera_id in self._pending and camera_id not in self._ready:
                    self._ready.append(camera_id)
        if self._on_result is not None:
            self._on_result()
        self._dispatch()

    def _replace_broken_pool(self) -> None:
        # A worker died (killed for memory, a crash in dlib): start a fresh pool once.
        if not self._own_executor:
            return
        with self._lock:
            if self._closed or self._executor is None:
                return
            old = self._executor
            self._executor = self._new_executor()
            self.restarts += 1
        log.warning("face worker pool broke; started a new one")
        old.shutdown(wait=False, cancel_futures=True)

    # -- results and state ---------------------------------------------------------------

    def results(self) -> list[FrameResult]:
        """Take every result finished since the last call, in finishing order."""
        out: list[FrameResult] = []
        with self._lock:
            while self._results:
                out.append(self._results.popleft())
        return out

    def latest(self, camera_id: str) -> tuple[bytes, datetime] | None:
        """The newest frame seen from a camera (memory only; used by `face.enroll`)."""
        with self._lock:
            frame = self._latest.get(camera_id)
        return None if frame is None else (frame.jpeg, frame.at)

    def forget_before(self, cutoff: datetime) -> None:
        """Drop kept latest frames taken before `cutoff` (no frame is kept longer than needed)."""
        with self._lock:
            for camera_id in [c for c, f in self._latest.items() if f.at < cutoff]:
                del self._latest[camera_id]

    def counters(self) -> dict[str, CameraCounters]:
        """A copy of the per-camera frame counters."""
        with self._lock:
            return {
                c: CameraCounters(n.received, n.processed, n.skipped, n.failed)
                for c, n in self._counters.items()
            }

    def detect(self, jpeg: bytes, settings: DetectSettings) -> Future[list[FoundFace]]:
        """Run one detection (an enrolment) on the workers, outside the per-camera slots."""
        with self._lock:
            executor = self._executor
        if executor is None:
            raise RuntimeError("the face pipeline is not started")
        return executor.submit(self._find, jpeg, settings)
