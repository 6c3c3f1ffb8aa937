"""Identity-free visitor counting by tracking face boxes between frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.faces.detect import Box
from edge.faces.footfall import CameraFootfall, FootfallCounts, iou

T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def box(x: int, y: int = 100, w: int = 80) -> Box:
    return Box(top=y, right=x + w, bottom=y + w, left=x)


def test_iou() -> None:
    assert iou(box(0), box(0)) == 1.0
    assert iou(box(0), box(500)) == 0.0
    assert abs(iou(box(0), box(40)) - (40 * 80) / (2 * 80 * 80 - 40 * 80)) < 1e-9


def test_a_person_enters_stays_and_leaves() -> None:
    ff = CameraFootfall(min_frames=2, lost_frames=2)
    ff.observe([box(100)], at(0))
    ff.observe([box(110)], at(1))  # confirmed: entered
    ff.observe([box(120)], at(2))
    assert ff.close_interval(at(2.5)) == FootfallCounts(entered=1, left=0, occupancy=1)
    ff.observe([], at(3))
    ff.observe([], at(4))  # missed twice: left
    assert ff.close_interval(at(5)) == FootfallCounts(entered=0, left=1, occupancy=0)


def test_a_single_frame_detection_does_not_count() -> None:
    ff = CameraFootfall(min_frames=2, lost_frames=1)
    ff.observe([box(100)], at(0))
    ff.observe([], at(1))
    assert ff.close_interval(at(2)) == FootfallCounts(0, 0, 0)


def test_two_people_are_told_apart_and_counted_once_each() -> None:
    ff = CameraFootfall(min_frames=1)
    for i in range(5):
        ff.observe([box(100 + 5 * i), box(600 - 5 * i)], at(i))
    assert ff.close_interval(at(5)) == FootfallCounts(entered=2, left=0, occupancy=2)
    ff.observe([box(580)], at(6))
    ff.observe([box(575)], at(7))
    assert ff.close_interval(at(8)) == FootfallCounts(entered=0, left=1, occupancy=1)


def test_a_face_that_moved_past_any_overlap_is_still_the_same_track() -> None:
    # snapshot cameras: a second apart, the box moved 70 px (IoU ~ 0.07)
    ff = CameraFootfall(min_frames=1, iou_min=0.3)
    ff.observe([box(100)], at(0))
    ff.observe([box(170)], at(1))
    ff.observe([box(240)], at(2))
    assert ff.close_interval(at(3)) == FootfallCounts(entered=1, left=0, occupancy=1)


def test_a_camera_gone_quiet_ends_its_tracks_after_lost_s() -> None:
    ff = CameraFootfall(min_frames=1, lost_s=10)
    ff.observe([box(100)], at(0))
    assert ff.close_interval(at(5)).occupancy == 1
    assert ff.close_interval(at(11)) == FootfallCounts(entered=0, left=1, occupancy=0)


def test_frames_are_counted_per_interval() -> None:
    ff = CameraFootfall()
    ff.observe([], at(0))
    ff.observe([], at(1))
    assert ff.frames == 2
    ff.close_interval(at(2))
    assert ff.frames == 0
