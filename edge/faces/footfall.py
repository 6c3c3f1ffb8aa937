"""Visitor counting without identity: face boxes tracked from frame to frame by overlap.

Only boxes are used — never encodings — so the counts cannot be tied to a person.
- A box that overlaps no live track starts a tentative track; once it is seen in
  `min_frames` frames it counts as one person *entered* (a one-frame false detection does
  not count).
- A track that is missed in `lost_frames` processed frames in a row, or not seen for
  `lost_s` seconds (a camera that went quiet), ends and counts as *left* if it had entered.
- *occupancy* is the number of entered tracks still live: the people in front of the camera.
Matching is greedy on intersection-over-union; when a snapshot camera's frames are far
apart a face may have moved past any overlap, so a box whose centre lies within one box
width of a track's, at a similar size, is a weaker second-choice match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge.faces.detect import Box

__all__ = ["CameraFootfall", "FootfallCounts", "iou"]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    inter_w = min(a.right, b.right) - max(a.left, b.left)
    inter_h = min(a.bottom, b.bottom) - max(a.top, b.top)
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def _near(a: Box, b: Box) -> float:
    """A score in (0, 1] for boxes of similar size whose centres are close, else 0."""
    wa, wb = max(a.width, 1), max(b.width, 1)
    if not 0.5 <= wa / wb <= 2.0:
        return 0.0
    dx = (a.left + a.right - b.left - b.right) / 2
    dy = (a.top + a.bottom - b.top - b.bottom) / 2
    reach = (wa + wb) / 2
    dist = (dx * dx + dy * dy) ** 0.5
    return 0.0 if dist > reach else max(1e-6, 1.0 - dist / reach)


@dataclass(slots=True)
class _Track:
    box: Box
    last_seen: datetime
    hits: int = 1
    misses: int = 0
    entered: bool = False


@dataclass(frozen=True, slots=True)
class FootfallCounts:
    """One camera's counts over one interval."""

    entered: int
    left: int
    occupancy: int


@dataclass(slots=True)
class CameraFootfall:
    """Tracks and counts of one camera."""

    iou_min: float = 0.3
    min_frames: int = 2
    lost_frames: int = 2
    lost_s: float = 10.0
    frames: int = 0  # processed frames in the current interval
    _tracks: list[_Track] = field(default_factory=list)
    _entered: int = 0
    _left: int = 0

    def observe(self, boxes: Sequence[Box], at: datetime) -> None:
        """Account for the face boxes of one processed frame."""
        self.frames += 1
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            for bi, box in enumerate(boxes):
                overlap = iou(track.box, box)
                # overlap matches rank above every centre-distance match
                score = 1.0 + overlap if overlap >= self.iou_min else _near(track.box, box)
                if score > 0:
                    pairs.append((score, ti, bi))
        pairs.sort(reverse=True)
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        for _score, ti, bi in pairs:
            if ti in used_tracks or bi in used_boxes:
                continue
            used_tracks.add(ti)
            used_boxes.add(bi)
            track = self._tracks[ti]
            track.box, track.last_seen, track.misses = boxes[bi], at, 0
            track.hits += 1
            self._confirm(track)
        for ti, track in enumerate(self._tracks):
            if ti not in used_tracks:
                track.misses += 1
        for bi, box in enumerate(boxes):
            if bi not in used_boxes:
                track = _Track(box, at)
                self._confirm(track)
                self._tracks.append(track)
        self._expire(at, by_misses=True)

    def _confirm(self, track: _Track) -> None:
        if not track.entered and track.hits >= self.min_frames:
            track.entered = True
            self._entered += 1

    def _expire(self, now: datetime, *, by_misses: bool) -> None:
        cutoff = now - timedelta(seconds=self.lost_s)
        live: list[_Track] = []
        for track in self._tracks:
            lost = track.last_seen < cutoff or (by_misses and track.misses >= self.lost_frames)
            if not lost:
                live.append(track)
            elif track.entered:
                self._left += 1
        self._tracks = live

    def close_interval(self, now: datetime) -> FootfallCounts:
        """The counts since the last call, with tracks not seen for `lost_s` ended first."""
        self._expire(now, by_misses=False)
        counts = FootfallCounts(
            entered=self._entered,
            left=self._left,
            occupancy=sum(1 for t in self._tracks if t.entered),
        )
        self._entered = self._left = self.frames = 0
        return counts
