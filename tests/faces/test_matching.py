"""Vectorised matching agrees with the plain definition of the distance."""

from __future__ import annotations

import numpy as np
import pytest

from edge.faces.matching import Gallery


def test_distances_equal_the_euclidean_definition() -> None:
    rng = np.random.default_rng(7)
    enrolled = rng.normal(0, 0.1, (300, 128))
    faces = rng.normal(0, 0.1, (4, 128))
    gallery = Gallery([f"C-{i}" for i in range(300)], enrolled)
    expected = np.array([[np.linalg.norm(f - e) for e in enrolled] for f in faces])
    assert np.allclose(gallery.distances(faces), expected, atol=1e-9)


def test_match_picks_the_closest_within_tolerance() -> None:
    rng = np.random.default_rng(8)
    enrolled = rng.normal(0, 0.1, (50, 128))
    gallery = Gallery([f"C-{i}" for i in range(50)], enrolled)
    near = enrolled[17] + 0.01
    far = enrolled[3] + 0.2  # about 2.3 away
    matches = gallery.match(np.stack([near, far]), tolerance=0.6)
    assert matches[0] is not None and matches[0].ref == "C-17" and matches[0].index == 17
    assert matches[0].distance == pytest.approx(np.linalg.norm(near - enrolled[17]))
    assert matches[1] is None
    assert gallery.match(far, tolerance=3.0)[0] is not None


def test_identical_encoding_has_distance_zero_not_nan() -> None:
    enc = np.random.default_rng(1).normal(0, 0.1, 128)
    m = Gallery(["C-1"], enc[None, :]).match(enc, 0.1)[0]
    assert m is not None and m.distance == pytest.approx(0.0, abs=1e-6)


def test_empty_gallery_matches_nothing() -> None:
    gallery = Gallery([], np.empty((0, 128)))
    assert len(gallery) == 0
    assert gallery.match(np.zeros((2, 128)), 0.6) == [None, None]


def test_references_and_rows_must_agree() -> None:
    with pytest.raises(ValueError, match="3 references need a"):
        Gallery(["a", "b", "c"], np.zeros((2, 128)))


def test_float32_ranking_picks_what_float64_distances_pick() -> None:
    # 10,000 enrolments, queries near an enrolment and a few between two close enrolments
    rng = np.random.default_rng(9)
    enrolled = rng.normal(0, 0.1, (10_000, 128))
    enrolled[1] = enrolled[0] + rng.normal(0, 0.002, 128)  # two enrolments 0.02 apart
    gallery = Gallery([f"C-{i}" for i in range(10_000)], enrolled)
    queries = enrolled[rng.integers(0, 10_000, 40)] + rng.normal(0, 0.02, (40, 128))
    queries[:5] = enrolled[0] + rng.normal(0, 0.003, (5, 128))
    matches = gallery.match(queries, tolerance=0.6)
    for query, m in zip(queries, matches, strict=True):
        exact = np.linalg.norm(enrolled - query, axis=1)
        assert m is not None and m.index == int(np.argmin(exact))
        assert m.distance == pytest.approx(float(exact.min()), abs=1e-6)
