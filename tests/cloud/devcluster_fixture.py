"""One 3-node RabbitMQ devcluster for the whole test session (its start dominates).

tests/cloud/conftest.py imports `cluster`, so that every module shares the one instance.
A test that kills a node restarts it (`healed`), so the next test finds every node up
and clustered again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud import devcluster


def healed(c: devcluster.Cluster) -> devcluster.Cluster:
    """Restart every node that is down (a killed node rejoins with its data), and one that
    is alive but not listening (a boot that hung): the next test needs all three."""
    for n in c.nodes:
        if not c.is_up(n):
            c.kill(n)  # a no-op for a node that is gone
            c.restart(n)
    return c


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devcluster.Cluster]:
    if not (devcluster.RABBITMQ_BIN / "rabbitmq-server").exists():
        pytest.skip("rabbitmq-server is not installed (./hall setup installs it)")
    d = tmp_path_factory.mktemp("devcluster")
    c = devcluster.start(d, nodes=3)
    try:
        yield c
    finally:
        devcluster.stop_cluster(c)
        if not os.environ.get("HALL_KEEP_DEVCLUSTER"):
            shutil.rmtree(Path(d), ignore_errors=True)
