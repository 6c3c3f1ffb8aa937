"""The journal's folder: writable, with room on its disk for the spool budget."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from edge.config import HubConfig
from edge.doctor.context import Context
from edge.doctor.result import Check, fail, ok, warn
from edge.store import journal_bytes, journal_path


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _journal(cfg: HubConfig) -> Path:
    return journal_path(cfg)


def check_journal_folder(ctx: Context) -> Check:
    if ctx.cfg is None:
        return warn("journal folder", "not checked: the config cannot be read")
    folder = _journal(ctx.cfg).parent
    hint = f"mkdir -p {folder} and make it the hub user's (hall-edge install does)"
    if not folder.is_dir():
        return fail("journal folder", f"{folder} does not exist", hint)
    try:
        # os.access alone is fooled by a read-only mount; a real file is not.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return fail("journal folder", f"cannot write in {folder}: {exc.strerror}", hint)
    return ok("journal folder", f"{folder} is writable")


def check_disk(ctx: Context) -> Check:
    if ctx.cfg is None:
        return warn("disk", "not checked: the config cannot be read")
    journal = _journal(ctx.cfg)
    folder = journal.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    try:
        used = journal_bytes(journal)  # the hub's own count (edge/store/opening.py)
        size = _size(used)
    except PermissionError:
        # The doctor run by another user than the hub's, on a folder it may not enter.
        used, size = 0, f"not readable by this user (in {journal.parent})"
    budget = ctx.cfg.store.spool_max_bytes
    # What the journal may still grow by before the spool policy drops events.
    need = max(0, budget - used)
    detail = (
        f"{_size(usage.free)} free on {folder}, spool budget {_size(budget)} "
        f"(store.spool_max_bytes), journal {size}"
    )
    if usage.free < need:
        return fail(
            "disk",
            f"{detail}: the budget does not fit",
            "free disk space or lower store.spool_max_bytes below the free space",
        )
    if usage.free < need * 1.2:
        return warn("disk", f"{detail}: less than 20% to spare", "free some disk space")
    return ok("disk", detail)
