"""Fixtures of the face tests: the shared photos, their faces (detected once per session)."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest
from PIL import Image, ImageOps

from edge.config.faces import FacesSection
from edge.faces.detect import DetectSettings, FoundFace, find_faces

T = TypeVar("T")

# Photos of two different people (cross-person accuracy) stay beside the project
# (../shared/faces, another project's photos): never copied into the repository, so the
# tests that need them are skipped elsewhere.
PHOTOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "faces"
CROSS_PERSON = "cross-person accuracy needs photos of two people"

# Test frames are shrunk to 640 pixels wide: detection is 3-10x faster than full size.
TEST_DOWNSCALE = 640
# The detector's own width as the hub has it by default (the frame's faces are found in a
# 320-wide grey copy); 0 searches the whole 640-wide frame, as enrolment does.
TEST_DETECT_WIDTH = 320


def _astronaut() -> Image.Image:
    """skimage/data/astronaut.png (scikit-image, dev extra) without its lower half, whose
    badge the detector takes for a face when upsampling: one face, everywhere."""
    spec = find_spec("skimage")
    if spec is None or spec.origin is None:
        pytest.fail("scikit-image (the dev extra) is not installed: ./hall setup")
    with Image.open(Path(spec.origin).parent / "data" / "astronaut.png") as img:
        return img.convert("RGB").crop((0, 0, 512, 300))


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _packaged(name: str) -> bytes:
    """The packaged photos: one person, seen in several ways (other "photos" of her)."""
    face = _astronaut()
    if name == "astronaut.jpg":
        return _jpeg(face)
    if name == "astronaut2.jpg":  # the same person, mirrored (distance ≈ 0.19)
        return _jpeg(ImageOps.mirror(face))
    if name == "astronaut3.jpg":  # tilted and smaller (distance ≈ 0.13)
        return _jpeg(face.rotate(8).resize((400, 234)))
    if name == "astronaut-480p.jpg":  # 16:9 at 853x480, as a camera frame
        return _jpeg(face.crop((0, 0, 512, 288)).resize((853, 480)))
    if name == "astronaut-group.jpg":  # three faces in one 1536x300 picture
        group = Image.new("RGB", (3 * 512, 300))
        for i, part in enumerate((face, ImageOps.mirror(face), face)):
            group.paste(part, (512 * i, 0))
        return _jpeg(group)
    raise KeyError(name)


PACKAGED = {"astronaut.jpg", "astronaut2.jpg", "astronaut3.jpg", "astronaut-480p.jpg"}
PACKAGED |= {"astronaut-group.jpg"}
_made: dict[str, Path] = {}


def photo_path(name: str) -> Path:
    """A photo's file: a packaged one (made once per run), or a shared one (else skipped)."""
    if name in PACKAGED:
        if name not in _made:
            folder = Path(tempfile.mkdtemp(prefix="hall-edge-photos-"))
            atexit.register(shutil.rmtree, folder, True)
            (folder / name).write_bytes(_packaged(name))
            _made[name] = folder / name
        return _made[name]
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"{CROSS_PERSON}: {name} is not in {PHOTOS.resolve()} (../shared/faces)")
    return path


@pytest.fixture(scope="session")
def photo() -> Callable[[str], bytes]:
    """The bytes of a photo (a shared one's test is skipped if the folder is absent)."""
    return lambda name: photo_path(name).read_bytes()


@pytest.fixture(scope="session")
def faces_of(photo: Callable[[str], bytes]) -> Callable[..., list[FoundFace]]:
    """Faces found in a shared photo, detected once per session per setting."""
    cache: dict[tuple[str, int, int], list[FoundFace]] = {}

    def get(name: str, upsample: int = 0, detect_width: int = TEST_DETECT_WIDTH) -> list[FoundFace]:
        key = (name, upsample, detect_width)
        if key not in cache:
            settings = DetectSettings(TEST_DOWNSCALE, upsample, detect_width)
            cache[key] = find_faces(photo(name), settings)
        return cache[key]

    return get


@pytest.fixture
def section(tmp_path: Path) -> Callable[..., FacesSection]:
    """A [faces] section with its vault and key in the test's temp folder."""

    def make(**overrides: Any) -> FacesSection:
        data: dict[str, Any] = {
            "enabled": True,
            "vault_path": str(tmp_path / "faces.db"),
            "key_path": str(tmp_path / "keys" / "faces.key"),
            "downscale": TEST_DOWNSCALE,
            **overrides,
        }
        return msgspec.convert(data, FacesSection)

    return make


class InlineExecutor(Executor):
    """Runs each job at once in the caller's thread: deterministic pipeline tests."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the future like a real executor would
            future.set_exception(exc)
        return future


@pytest.fixture
def inline() -> Iterator[InlineExecutor]:
    executor = InlineExecutor()
    yield executor
    executor.shutdown()


def key_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
