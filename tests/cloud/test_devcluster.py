"""`hall-cloud devcluster`: the nodes it starts are clustered, on loopback only, apart from
the machine's own RabbitMQ; its CLI prints and finds them; bad input is a clear error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloud import devcluster
from cloud.cli import app
from tests.cloud.devcluster_fixture import healed


def test_nodes_are_one_cluster_on_loopback(cluster: devcluster.Cluster) -> None:
    c = healed(cluster)
    names = sorted(n.name for n in c.nodes)
    for n in c.nodes:  # every node sees all three running
        assert c.running_nodes(n) == names
    assert not any(name.startswith("rabbit@") for name in names)
    listening = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, check=True)
    for n in c.nodes:
        for port in (n.amqp_port, n.mqtt_port, n.dist_port):
            lines = [ln for ln in listening.stdout.splitlines() if f":{port} " in ln]
            assert lines, f"{n.name}: nothing listens on {port}"
            assert all("127.0.0.1:" in ln for ln in lines), lines
    # The MQTT plugin's durable queues are quorum queues (the PUBACK tests rely on it).
    assert "{durable_queue_type,quorum}" in c.ctl(
        c.nodes[0], "eval", "application:get_all_env(rabbitmq_mqtt)."
    ).replace(" ", "")


def test_cli_status_lines_and_errors(cluster: devcluster.Cluster, tmp_path: Path) -> None:
    c = healed(cluster)
    runner = CliRunner()
    r = runner.invoke(app, ["devcluster", "status", "--dir", str(c.dir)])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 3
    for n, line in zip(c.nodes, lines, strict=True):
        name, mqtt, amqp, pid, state = line.split()
        assert (name, mqtt, amqp, int(pid), state) == (
            n.name,
            n.mqtt_url,
            n.amqp_url,
            n.pid,
            "up",
        )

    r = runner.invoke(app, ["devcluster", "stop", "--dir", str(tmp_path / "none")])
    assert r.exit_code == 2
    assert "cluster.json: no cluster state here" in r.output

    (tmp_path / "cluster.json").write_text("{not json")
    r = runner.invoke(app, ["devcluster", "status", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "not a devcluster state file" in r.output

    r = runner.invoke(app, ["devcluster", "start", "--nodes", "0", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "--nodes: expected at least 1, got 0" in r.output

    r = runner.invoke(app, ["devcluster", "start", "--dir", str(c.dir)])
    assert r.exit_code == 2 and "a cluster is running there" in r.output


def test_a_killed_node_restarts_and_rejoins(cluster: devcluster.Cluster) -> None:
    c = healed(cluster)
    victim = c.nodes[2]
    old_pid = victim.pid
    c.kill(victim)
    assert not devcluster.alive(old_pid)
    assert victim.name not in c.running_nodes(c.nodes[0])
    c.restart(victim)
    assert victim.pid != old_pid
    assert c.running_nodes(c.nodes[0]) == sorted(n.name for n in c.nodes)
    assert devcluster.Cluster.load(c.dir).node(victim.name).pid == victim.pid


def test_a_node_that_will_not_boot_is_rebuilt_and_rejoins(
    cluster: devcluster.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = healed(cluster)
    victim = c.nodes[1]
    marker = Path(victim.base) / "mnesia" / "left-from-before"
    marker.write_text("old data")
    c.kill(victim)
    # Both ordinary boots "hang" (what a full test run once saw); the rebuild is real.
    monkeypatch.setattr(c, "_boot", lambda node, timeout: f"{node.name} hung (test)")
    c.restart(victim)
    monkeypatch.undo()
    assert not marker.exists()  # it booted from nothing
    assert c.is_up(victim)
    names = sorted(n.name for n in c.nodes)
    for n in c.nodes:
        assert c.running_nodes(n) == names
    assert devcluster.Cluster.load(c.dir).node(victim.name).pid == victim.pid


def test_a_rebuild_needs_a_running_peer(tmp_path: Path) -> None:
    lone = devcluster.Node("hcx@localhost", 1, 2, 3, str(tmp_path / "node1"))
    c = devcluster.Cluster(tmp_path, [lone])
    with pytest.raises(devcluster.DevClusterError, match="no running peer to rebuild it from"):
        c.rebuild(lone)
