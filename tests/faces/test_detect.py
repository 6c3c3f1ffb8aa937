"""Detection and encoding on a real photo a package ships (scikit-image's astronaut, seen in
several ways), and cross-person accuracy on the shared photos of two people
(../shared/faces/README.md; skipped where they are absent)."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from edge.errors import PayloadError
from edge.faces.detect import Box, DetectSettings, FoundFace, decode_jpeg, find_faces
from edge.faces.matching import Gallery

Faces = Callable[..., list[FoundFace]]


def test_enrolled_person_is_recognised_from_another_photo(faces_of: Faces) -> None:
    (face,) = faces_of("astronaut.jpg")
    for other in ("astronaut2.jpg", "astronaut3.jpg", "astronaut-480p.jpg"):
        (seen,) = faces_of(other)
        gallery = Gallery(["C-astronaut"], face.encoding[None, :])
        match = gallery.match(seen.encoding, tolerance=0.6)[0]
        assert match is not None and match.ref == "C-astronaut", other
        assert 0.0 < match.distance < 0.4, (other, match.distance)


def test_enrolled_person_is_recognised_from_another_photo_of_theirs(faces_of: Faces) -> None:
    # Cross-person photos: two pictures of one person taken apart.
    (obama,) = faces_of("obama.jpg")
    (obama2,) = faces_of("obama2.jpg")
    gallery = Gallery(["C-obama"], obama.encoding[None, :])
    match = gallery.match(obama2.encoding, tolerance=0.6)[0]
    assert match is not None and match.ref == "C-obama"
    assert 0.2 < match.distance < 0.5  # README: 0.35 at full size


def test_different_person_is_rejected(faces_of: Faces) -> None:
    (obama,) = faces_of("obama.jpg")
    (biden,) = faces_of("biden2.jpg")
    gallery = Gallery(["C-obama"], obama.encoding[None, :])
    assert gallery.match(biden.encoding, tolerance=0.6) == [None]
    assert gallery.distances(biden.encoding)[0, 0] > 0.7


def test_three_faces_in_the_group_photo(faces_of: Faces, photo: Callable[[str], bytes]) -> None:
    found = faces_of("astronaut-group.jpg", upsample=1, detect_width=0)
    assert len(found) == 3
    width, height = Image.open(io.BytesIO(photo("astronaut-group.jpg"))).size
    for face in found:
        # boxes come back in the photo's own pixels (1536x300), not the 640-wide copy
        assert 0 <= face.box.left < face.box.right <= width
        assert 0 <= face.box.top < face.box.bottom <= height
        assert face.encoding.shape == (128,)
    assert max(f.box.right for f in found) > 640
    (face,) = faces_of("astronaut.jpg")  # all three are her
    gallery = Gallery(["a", "b", "c"], np.stack([f.encoding for f in found]))
    assert max(gallery.distances(face.encoding)[0]) < 0.4


def test_the_one_person_of_a_group_photo_is_told_apart(faces_of: Faces) -> None:
    found = faces_of("obama_and_biden.jpg", upsample=1, detect_width=0)
    assert len(found) == 3
    (obama,) = faces_of("obama.jpg")
    dists = Gallery(["a", "b", "c"], np.stack([f.encoding for f in found])).distances(
        obama.encoding
    )[0]
    assert sorted(dists)[0] < 0.5 < sorted(dists)[1]


def _iou(a: Box, b: Box) -> float:
    inter_w = max(0, min(a.right, b.right) - max(a.left, b.left))
    inter_h = max(0, min(a.bottom, b.bottom) - max(a.top, b.top))
    inter = inter_w * inter_h
    return inter / (a.width * a.height + b.width * b.height - inter)


def test_the_small_grey_search_finds_the_face_the_whole_frame_search_finds(
    faces_of: Faces,
) -> None:
    # 853x480: the hub encodes from the 640-wide copy and searches a 320-wide grey one
    (fast,) = faces_of("astronaut-480p.jpg")
    (whole,) = faces_of("astronaut-480p.jpg", detect_width=0)
    assert _iou(fast.box, whole.box) > 0.6, (fast.box, whole.box)
    assert 0 <= fast.box.left < fast.box.right <= 853 and fast.box.bottom <= 480
    assert fast.box.width > 160  # in the frame's own pixels, not the 320-wide copy's
    assert float(np.linalg.norm(fast.encoding - whole.encoding)) < 0.1


def _pasted_face(face_width: int) -> bytes:
    """The astronaut in a plain 640x480 frame, her face about `face_width` pixels wide."""
    from tests.faces.conftest import _astronaut  # noqa: PLC0415

    img = _astronaut()
    s = face_width / 87  # her face box in the 512-wide picture
    frame = Image.new("RGB", (640, 480), (120, 110, 100))
    frame.paste(img.resize((round(img.width * s), round(img.height * s))), (40, 40))
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_smaller_faces_are_found_only_when_the_whole_frame_is_searched() -> None:
    # The documented trade-off of detect_width: at 320 a 640-wide frame's faces must be
    # about 110 pixels wide; searching the whole frame (0) finds them down to about 50.
    small, large = _pasted_face(75), _pasted_face(150)
    assert len(find_faces(small, DetectSettings(640, 0, detect_width=320))) == 0
    (face,) = find_faces(small, DetectSettings(640, 0, detect_width=0))
    assert 60 < face.box.width < 90
    (face,) = find_faces(large, DetectSettings(640, 0, detect_width=320))
    assert 120 < face.box.width < 200  # boxes at 320 come in coarser steps


def test_decode_shrinks_to_max_width_and_reports_the_scale(photo: Callable[[str], bytes]) -> None:
    pixels, scale = decode_jpeg(photo("astronaut-480p.jpg"), 320)
    assert pixels.shape == (180, 320, 3)
    assert scale == pytest.approx(853 / 320)
    full, one = decode_jpeg(photo("astronaut-480p.jpg"), 0)
    assert full.shape == (480, 853, 3) and one == 1.0


def test_a_picture_without_face_gives_none() -> None:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(buf, "JPEG")
    assert find_faces(buf.getvalue(), DetectSettings(downscale=320)) == []


def test_garbage_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="not a decodable image"):
        decode_jpeg(b"\xff\xd8\xff garbage", 640)
