"""Fixtures of the face tests: the shared photos, their faces (detected once per session)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from edge.config.faces import FacesSection
from edge.faces.detect import DetectSettings, FoundFace, find_faces

T = TypeVar("T")

# The photos stay beside the project (../shared/faces): never copied into the repository.
PHOTOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "faces"

# Test frames are shrunk to 640 pixels wide: detection is 3-10x faster than full size.
TEST_DOWNSCALE = 640


def photo_path(name: str) -> Path:
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"test photo {name} not found in {PHOTOS.resolve()} (../shared/faces)")
    return path


@pytest.fixture(scope="session")
def photo() -> Callable[[str], bytes]:
    """The bytes of a shared photo (the test is skipped if the folder is absent)."""
    return lambda name: photo_path(name).read_bytes()


@pytest.fixture(scope="session")
def faces_of(photo: Callable[[str], bytes]) -> Callable[..., list[FoundFace]]:
    """Faces found in a shared photo, detected once per session per setting."""
    cache: dict[tuple[str, int], list[FoundFace]] = {}

    def get(name: str, upsample: int = 0) -> list[FoundFace]:
        key = (name, upsample)
        if key not in cache:
            settings = DetectSettings(downscale=TEST_DOWNSCALE, upsample=upsample)
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
