"""Face cameras: on-hub recognition of consenting customers, visitor counts, privacy rules.

Nothing here imports face_recognition at import time (it loads its models for ~1.5 s);
`edge.faces.detect` does so on first use, in the worker processes.
"""

from __future__ import annotations

from edge.faces.consent import ConsentError, Enrolment
from edge.faces.keyfile import FaceVaultError
from edge.faces.service import FaceService
from edge.faces.snapshot import SnapshotPoller, SnapshotSettings, snapshot_settings
from edge.faces.vault import FaceVault

__all__ = [
    "ConsentError",
    "Enrolment",
    "FaceService",
    "FaceVault",
    "FaceVaultError",
    "SnapshotPoller",
    "SnapshotSettings",
    "snapshot_settings",
]
