"""Face pipeline figures: the frame path and matching, each against the old path in this run.

Run on one core: taskset -c 0 .venv/bin/python bench/faces.py [--quick]

- Frames (640x480 JPEG): the old path (decode the 640-wide RGB frame, HOG on it, encode)
  and the new one (`find_faces`: HOG on a 320-wide grey copy decoded at JPEG's 1/2 scale,
  the RGB frame decoded only when a face is found, encoded from it), interleaved frame by
  frame over several rounds, in turn first. Wall time (perf_counter) and this process's
  CPU time (process_time: what the frame costs the core, less the waits for other work on
  a busy machine). Frames with faces come from the shared photos (../shared/faces) and
  scikit-image's astronaut; frames without come from scikit-image's other pictures.
- Matching one face against 10,000 random enrolled encodings: the old gallery (float64,
  every distance computed) against the new (float32, ranked by one product), interleaved.
- Recall: faces found by each path in every photo as a 640x480 frame, and the smallest
  face found when the astronaut is pasted into a frame at widths from 40 to 200 pixels.
- One camera through one worker process: frames/s processed of 25 offered.
Writes bench/results/faces.json.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.faces.detect import (  # noqa: E402
    DetectSettings,
    FoundFace,
    decode_jpeg,
    find_faces,
    warm_up,
)
from edge.faces.matching import Gallery  # noqa: E402
from edge.faces.pipeline import FramePipeline  # noqa: E402

PHOTOS = ROOT / ".." / "shared" / "faces"
RESULTS = ROOT / "bench" / "results" / "faces.json"
NEW = DetectSettings(downscale=640, upsample=0, detect_width=320)
TARGET_FACE_MS = 150.0
TARGET_EMPTY_MS = 20.0
TARGET_MATCH_MS = 1.0


# -- frames ----------------------------------------------------------------------------------
def to_frame(img: Image.Image, size: tuple[int, int] = (640, 480)) -> bytes:
    """A camera-like JPEG: the picture cropped to the frame's aspect ratio and resized."""
    img = img.convert("RGB")
    want = size[0] / size[1]
    w, h = img.size
    if w / h > want:
        cw = round(h * want)
        img = img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = round(w / want)
        img = img.crop((0, 0, w, ch))  # keep the top: that is where faces are in portraits
    img = img.resize(size, Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def skimage_picture(name: str) -> Image.Image:
    from skimage import data  # noqa: PLC0415 - the dev extra

    return Image.fromarray(getattr(data, name)())


def astronaut() -> Image.Image:
    # without the lower half, whose badge the detector takes for a face when upsampling
    return skimage_picture("astronaut").crop((0, 0, 512, 300))


def face_frames() -> dict[str, bytes]:
    frames = {"astronaut": to_frame(astronaut())}
    if PHOTOS.is_dir():
        for path in sorted(PHOTOS.glob("*.jpg")):
            frames[path.stem] = to_frame(Image.open(path))
    return frames


def empty_frames() -> dict[str, bytes]:
    # real scenes without a face: a cup of coffee, a rocket, a cat, and the astronaut's
    # picture below her face (her suit and the flag)
    frames = {n: to_frame(skimage_picture(n)) for n in ("coffee", "rocket", "chelsea")}
    frames["astronaut-suit"] = to_frame(skimage_picture("astronaut").crop((0, 300, 512, 512)))
    return frames


# -- the old path (the baseline) -----------------------------------------------------------
def old_find_faces(jpeg: bytes) -> list[FoundFace]:
    """What `find_faces` did before: HOG on the whole 640-wide RGB frame, then encodings."""
    import face_recognition as fr  # noqa: PLC0415

    from edge.faces.detect import Box  # noqa: PLC0415

    pixels, scale = decode_jpeg(jpeg, 640)
    locations = fr.face_locations(pixels, number_of_times_to_upsample=0, model="hog")
    if not locations:
        return []
    encodings = fr.face_encodings(pixels, locations, num_jitters=1, model="small")
    return [
        FoundFace(Box(*(round(v * scale) for v in loc)), np.asarray(enc, np.float64))
        for loc, enc in zip(locations, encodings, strict=True)
    ]


class OldGallery:
    """The old matching: a float64 matrix, every distance computed, then argmin."""

    def __init__(self, encodings: npt.NDArray[np.float64]) -> None:
        self.matrix = np.ascontiguousarray(encodings, dtype=np.float64)
        self.norms = np.einsum("ij,ij->i", self.matrix, self.matrix)

    def match(self, face: npt.NDArray[np.float64], tolerance: float) -> int | None:
        dots = np.einsum("ij,j->i", self.matrix, face)
        squared = float(face @ face) - 2.0 * dots + self.norms
        np.maximum(squared, 0.0, out=squared)
        distances = np.sqrt(squared)
        best = int(np.argmin(distances))
        return best if distances[best] <= tolerance else None


# -- timing ----------------------------------------------------------------------------------
def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, cpu) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(
    cases: dict[str, Callable[[], object]], rounds: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Each case once per round, the order turned each round; (walls, cpus) per case."""
    out: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall, cpu = timed(cases[name])
            out[name][0].append(wall)
            out[name][1].append(cpu)
    return out


def ms(values: Sequence[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def bench_frames(frames: dict[str, bytes], rounds: int) -> list[dict[str, Any]]:
    """Per frame: old and new path, median wall and CPU ms, and the ratios old/new."""
    rows = []
    for name, jpeg in frames.items():
        cases: dict[str, Callable[[], object]] = {
            "old": partial(old_find_faces, jpeg),
            "new": partial(find_faces, jpeg, NEW),
        }
        got = interleaved(cases, rounds)
        (old_wall, old_cpu), (new_wall, new_cpu) = got["old"], got["new"]
        rows.append(
            {
                "frame": name,
                "faces_old": len(old_find_faces(jpeg)),
                "faces_new": len(find_faces(jpeg, NEW)),
                "old_wall_ms": ms(old_wall),
                "new_wall_ms": ms(new_wall),
                "old_cpu_ms": ms(old_cpu),
                "new_cpu_ms": ms(new_cpu),
                "ratio_wall": round(ms(old_wall) / ms(new_wall), 2),
                "ratio_cpu": round(ms(old_cpu) / max(ms(new_cpu), 0.01), 2),
            }
        )
    return rows


def bench_matching(rounds: int) -> dict[str, Any]:
    """One face against 10,000 enrolled encodings: old and new gallery, interleaved."""
    rng = np.random.default_rng(2026)
    enrolled = rng.normal(0, 0.1, (10_000, 128))
    refs = [f"C-{i:05d}" for i in range(10_000)]
    new, old = Gallery(refs, enrolled), OldGallery(enrolled)
    faces = rng.normal(0, 0.1, (rounds * 40, 128))
    faces[::2] = enrolled[rng.integers(0, 10_000, len(faces[::2]))] + 0.01  # half enrolled
    agree = all(
        (m.index if m else None) == old.match(f, 0.6)
        for f, m in zip(faces, (new.match(f, 0.6)[0] for f in faces), strict=True)
    )
    walls: dict[str, list[float]] = {"old": [], "new": []}
    cpus: dict[str, list[float]] = {"old": [], "new": []}
    for i, face in enumerate(faces):
        order = ("old", "new") if i % 2 else ("new", "old")
        for name in order:
            fn = (
                (lambda f=face: old.match(f, 0.6))
                if name == "old"
                else lambda f=face: new.match(f, 0.6)
            )
            wall, cpu = timed(fn)
            walls[name].append(wall)
            cpus[name].append(cpu)
    three = faces[:3]
    return {
        "enrolled": 10_000,
        "queries": len(faces),
        "same_matches_as_old": agree,
        "old_ms": ms(walls["old"]),
        "new_ms": ms(walls["new"]),
        "new_p90_ms": round(float(np.percentile(walls["new"], 90)) * 1000, 3),
        "ratio": round(ms(walls["old"]) / ms(walls["new"]), 2),
        # CPU time: what a match costs the core, less the waits on a busy machine
        "old_cpu_ms": ms(cpus["old"]),
        "new_cpu_ms": ms(cpus["new"]),
        "ratio_cpu": round(ms(cpus["old"]) / ms(cpus["new"]), 2),
        "new_3_faces_ms": ms([timed(lambda: new.match(three, 0.6))[0] for _ in range(50)]),
        "gallery_build_ms": ms([timed(lambda: Gallery(refs, enrolled))[0] for _ in range(3)]),
    }


# -- recall ----------------------------------------------------------------------------------
def pasted(face_width: int) -> bytes:
    """The astronaut pasted into a plain 640x480 frame so that her face box is about
    `face_width` pixels wide (her face box is 87 pixels in the 512-wide picture)."""
    img = astronaut()
    s = face_width / 87
    small = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))))
    frame = Image.new("RGB", (640, 480), (120, 110, 100))
    frame.paste(small, (40, 40))
    return to_frame(frame)


def bench_recall(frames: dict[str, bytes]) -> dict[str, Any]:
    """Faces each path finds in the photos' frames, the smallest face found, and how far the
    new encodings are from the old ones for the same face."""
    found_old = found_new = 0
    drift: list[float] = []
    for jpeg in frames.values():
        old, new = old_find_faces(jpeg), find_faces(jpeg, NEW)
        found_old, found_new = found_old + len(old), found_new + len(new)
        for face in new:
            if old:
                drift.append(min(float(np.linalg.norm(face.encoding - o.encoding)) for o in old))
    sweep = {w: (len(old_find_faces(pasted(w))), len(find_faces(pasted(w), NEW))) for w in SWEEP}
    smallest_old = min((w for w, (o, _) in sweep.items() if o), default=None)
    smallest_new = min((w for w, (_, n) in sweep.items() if n), default=None)
    return {
        "frames": len(frames),
        "faces_found_old": found_old,
        "faces_found_new": found_new,
        "encoding_old_to_new_max": round(max(drift), 4) if drift else None,
        "encoding_old_to_new_median": round(statistics.median(drift), 4) if drift else None,
        "sweep_face_width_found_old_new": {str(w): list(v) for w, v in sweep.items()},
        "smallest_face_old_px": smallest_old,
        "smallest_face_new_px": smallest_new,
    }


SWEEP = (40, 50, 60, 70, 80, 90, 100, 110, 120, 150, 200)
WIDTHS = (320, 400, 480, 0)


def bench_widths(
    faces: dict[str, bytes], empty: dict[str, bytes], rounds: int
) -> list[dict[str, Any]]:
    """Per `detect_width`: CPU of the no-face frames, smallest face found, faces found."""
    cpu: dict[int, list[float]] = {w: [] for w in WIDTHS}
    for jpeg in empty.values():
        cases: dict[str, Callable[[], object]] = {
            str(w): partial(find_faces, jpeg, DetectSettings(640, 0, w)) for w in WIDTHS
        }
        for name, (_, cpus) in interleaved(cases, rounds).items():
            cpu[int(name)].append(statistics.median(cpus))
    sweep = {size: pasted(size) for size in SWEEP}
    rows = []
    for w in WIDTHS:
        settings = DetectSettings(640, 0, w)
        found = [size for size, jpeg in sweep.items() if find_faces(jpeg, settings)]
        rows.append(
            {
                "detect_width": w,
                "no_face_cpu_ms": ms(cpu[w]),
                "smallest_face_px": min(found, default=None),
                "faces_found_in_photos": sum(len(find_faces(j, settings)) for j in faces.values()),
            }
        )
    return rows


def bench_separation() -> dict[str, Any] | None:
    """Same-person and different-people distance ranges through each path (shared photos)."""
    if not PHOTOS.is_dir():
        return None
    frames = {p.stem: to_frame(Image.open(p)) for p in sorted(PHOTOS.glob("*.jpg"))}
    out: dict[str, Any] = {}
    paths: dict[str, Callable[[bytes], list[FoundFace]]] = {
        "old": old_find_faces,
        "new": partial(find_faces, settings=NEW),
    }
    for path_name, find in paths.items():
        enc = {}
        for name, jpeg in frames.items():
            faces = find(jpeg)
            if len(faces) == 1:
                enc[name] = faces[0].encoding
        same: list[float] = []
        cross: list[float] = []
        for (a, ea), (b, eb) in itertools.combinations(enc.items(), 2):
            # the photos are named for the person: obama*.jpg, biden*.jpg
            (same if a[:5] == b[:5] else cross).append(float(np.linalg.norm(ea - eb)))
        out[path_name] = {
            "photos": len(enc),
            "same_person": [round(min(same), 3), round(max(same), 3)] if same else None,
            "different_people": [round(min(cross), 3), round(max(cross), 3)] if cross else None,
        }
    return out


# -- one camera ------------------------------------------------------------------------------
def bench_camera_fps(jpeg: bytes, seconds: float) -> dict[str, Any]:
    """Frames/s one camera at 25 frames/s gets through one worker process (newest wins)."""
    pipeline = FramePipeline(NEW, workers=1)
    pipeline.start()
    pipeline.detect(jpeg, NEW).result()  # let the worker load its models before counting
    submitted = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pipeline.submit("cam", jpeg, datetime.now(UTC))
        submitted += 1
        pipeline.results()
        time.sleep(0.04)
    elapsed = time.perf_counter() - t0
    counters = pipeline.counters()["cam"]
    pipeline.close()
    return {
        "frame": "640x480, 1 face",
        "worker_process_fps": round(counters.processed / elapsed, 2),
        "camera_fps_offered": round(submitted / elapsed, 1),
        "frames_skipped": counters.skipped,
        "frames_processed": counters.processed,
    }


def table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r[k]).ljust(w) for k, w in zip(keys, widths, strict=True)))


def verdicts(
    with_face: list[dict[str, Any]], empty: list[dict[str, Any]], match: dict[str, Any]
) -> None:
    one_face = [r for r in with_face if r["faces_new"] == 1]
    worst_face = max((r["new_wall_ms"] for r in one_face), default=float("nan"))
    worst_face_cpu = max((r["new_cpu_ms"] for r in one_face), default=float("nan"))
    worst_empty = max(r["new_wall_ms"] for r in empty)
    worst_empty_cpu = max(r["new_cpu_ms"] for r in empty)
    print(
        f"\n1-face frame, worst median: {worst_face} ms wall / {worst_face_cpu} ms CPU "
        f"(target {TARGET_FACE_MS}); no-face frame, worst median: {worst_empty} ms wall / "
        f"{worst_empty_cpu} ms CPU (target {TARGET_EMPTY_MS}); matching 10,000: "
        f"{match['new_ms']} ms wall / {match['new_cpu_ms']} ms CPU (target {TARGET_MATCH_MS}), "
        f"{match['ratio']}x the old"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 9
    affinity = sorted(os.sched_getaffinity(0))
    print(f"load average before the run: {os.getloadavg()[0]:.2f}; cores used: {affinity}")
    if not PHOTOS.is_dir():
        print(f"the shared photos are not at {PHOTOS.resolve()}: astronaut frames only")
    t = time.perf_counter()
    warm_up()
    model_load_s = round(time.perf_counter() - t, 2)
    faces, empty = face_frames(), empty_frames()
    with_face = bench_frames(faces, rounds)
    table("Frames with faces, 640x480 (median ms; old path = baseline of this run)", with_face)
    without = bench_frames(empty, rounds)
    table("Frames without a face, 640x480 (median ms)", without)
    matching = bench_matching(rounds)
    table("Matching one face against 10,000 enrolled encodings (median ms)", [matching])
    recall = bench_recall(faces)
    widths = bench_widths(faces, empty, rounds)
    table("detect_width: no-face frame CPU (median ms), smallest face found (px)", widths)
    print(f"\nRecall: {json.dumps(recall)}")
    separation = bench_separation()
    print(f"Distances through the new path: {json.dumps(separation)}")
    camera = bench_camera_fps(faces["astronaut"], 3.0 if args.quick else 10.0)
    table("One camera through one worker process", [camera])
    verdicts(with_face, without, matching)
    write_results(
        {
            "model_load_s": model_load_s,
            "cores": affinity,
            "frames_with_faces": with_face,
            "frames_without_face": without,
            "matching": matching,
            "recall": recall,
            "detect_widths": widths,
            "separation": separation,
            "camera": camera,
        }
    )


def write_results(figures: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        # other work on the machine inflates every wall figure: note how busy it was
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }
    when = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(
        json.dumps({"when": when, "machine": machine, **figures}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
