"""A development RabbitMQ cluster with the MQTT plugin, all nodes on this one machine.

Each node is an ordinary `rabbitmq-server` with its own node name, ports, data, log, config,
plugins and pid file under DIR, and the cluster's own Erlang cookie (HOME=DIR). Nothing of
the machine's own RabbitMQ (node `rabbit@<host>` on 5672, /var/lib/rabbitmq) is read or
touched. The nodes boot in parallel; nodes 2..N then join node 1 (`join_cluster`), so that
quorum queues declared afterwards have a member on every node.

The cluster's state (nodes, ports, OS pids) is a JSON file in DIR, which `stop` and the
tests read.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# The scripts proper: /usr/sbin/rabbitmq-server is a wrapper that, run as root, switches
# to the `rabbitmq` user and the machine's own cookie in /var/lib/rabbitmq.
RABBITMQ_BIN = Path(os.environ.get("HALL_CLOUD_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
STATE_FILE = "cluster.json"


class DevClusterError(Exception):
    """The cluster could not be started, found or stopped; the message says why."""


def free_ports(n: int) -> list[int]:
    """N distinct free loopback ports (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Node:
    name: str
    amqp_port: int
    mqtt_port: int
    dist_port: int
    base: str
    pid: int = 0

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def pid_file(self) -> Path:
        return Path(self.base) / "node.pid"

    def line(self) -> str:
        return f"{self.name} {self.mqtt_url} {self.amqp_url} {self.pid}"


@dataclass
class Cluster:
    dir: Path
    nodes: list[Node]

    def save(self) -> None:
        data = {"nodes": [asdict(n) for n in self.nodes]}
        tmp = self.dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.dir / STATE_FILE)

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        path = directory / STATE_FILE
        try:
            data = json.loads(path.read_text())
            nodes = [Node(**n) for n in data["nodes"]]
        except FileNotFoundError:
            raise DevClusterError(f"{path}: no cluster state here (start one first)") from None
        except (ValueError, KeyError, TypeError) as e:
            raise DevClusterError(f"{path}: not a devcluster state file ({e})") from None
        return cls(directory, nodes)

    def node(self, name_or_index: str | int) -> Node:
        if isinstance(name_or_index, int):
            return self.nodes[name_or_index]
        for n in self.nodes:
            if n.name == name_or_index:
                return n
        raise DevClusterError(f"no node {name_or_index!r} in {self.dir / STATE_FILE}")

    # -- node processes ---------------------------------------------------------------

    def env(self, node: Node) -> dict[str, str]:
        base = Path(node.base)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        env.update(
            HOME=str(self.dir),  # the cluster's .erlang.cookie, for server and CLI alike
            RABBITMQ_NODENAME=node.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(node.amqp_port),
            RABBITMQ_DIST_PORT=str(node.dist_port),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(node.pid_file),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            # Erlang distribution only on loopback (the default is every interface).
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def ctl(self, node: Node, *args: str, timeout: float = 60.0) -> str:
        """rabbitmqctl against one node; its output, or an error naming the command."""
        cmd = [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, "-q", *args]
        r = subprocess.run(
            cmd, check=False, env=self.env(node), capture_output=True, text=True, timeout=timeout
        )
        if r.returncode != 0:
            raise DevClusterError(
                f"rabbitmqctl {' '.join(args)} on {node.name} failed ({r.returncode}): "
                f"{(r.stderr or r.stdout).strip()[-600:]}"
            )
        return r.stdout

    def _write_files(self, node: Node) -> None:
        base = Path(node.base)
        (base / "log").mkdir(parents=True, exist_ok=True)
        (base / "mnesia").mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq-env.conf").write_text("# deliberately empty: all settings by env\n")
        (base / "advanced.config").write_text("[].\n")
        (base / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (base / "rabbitmq.conf").write_text(
            "\n".join(
                [
                    f"listeners.tcp.default = 127.0.0.1:{node.amqp_port}",
                    f"mqtt.listeners.tcp.default = 127.0.0.1:{node.mqtt_port}",
                    # QoS 1 subscriptions of persistent sessions get a quorum queue: it
                    # has a member on every node and survives the loss of one.
                    "mqtt.durable_queue_type = quorum",
                    "mqtt.allow_anonymous = true",
                    "mqtt.vhost = /",
                    "mqtt.exchange = amq.topic",
                    # Unacknowledged deliveries per MQTT subscriber (default 10): a consumer
                    # that acks after its PostgreSQL commit needs a batch's worth.
                    "mqtt.prefetch = 500",
                    "loopback_users = none",
                    "log.file.level = info",
                    "log.console = false",
                    # A developer machine: do not block publishers at 50 % of its disk.
                    "disk_free_limit.absolute = 200MB",
                    "vm_memory_high_watermark.relative = 0.2",
                    "",
                ]
            )
        )

    def launch(self, node: Node) -> None:
        """Start one node's Erlang VM (returns at once; see `await_node`)."""
        node.pid_file.unlink(missing_ok=True)
        log = open(Path(node.base) / "log" / "console.log", "ab")  # noqa: SIM115
        with log:
            subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self.env(node),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a node outlives `hall-cloud devcluster start`
                cwd=node.base,
            )

    def await_node(self, node: Node, timeout: float = 90.0) -> None:
        """Until the node's pid file names a live process and its MQTT listener accepts
        (the MQTT plugin boots last, so then AMQP is up too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.pid == 0 or not alive(node.pid):
                node.pid = _read_pid(node.pid_file)
            if self.is_up(node):
                return
            time.sleep(0.1)
        raise DevClusterError(
            f"node {node.name} did not come up within {timeout:.0f} s; "
            f"see {Path(node.base) / 'log'}; {_tail(node)}"
        )

    def join(self, node: Node, to: Node) -> None:
        # One CLI call instead of stop_app, join_cluster, start_app: each rabbitmqctl
        # costs an Erlang VM start of its own.
        self.ctl(
            node,
            "eval",
            "ok = rabbit:stop(), "
            f"ok = rabbit_mnesia:join_cluster('{to.name}', disc), "
            "ok = rabbit:start().",
            timeout=120,
        )

    def running_nodes(self, via: Node) -> list[str]:
        out = self.ctl(via, "eval", "rabbit_nodes:all_running().")
        return sorted(t.strip(" []\n'") for t in out.strip().strip("[]").split(",") if t.strip())

    def kill(self, node: Node, sig: int = signal.SIGKILL) -> None:
        if node.pid and alive(node.pid):
            os.kill(node.pid, sig)
            _wait_gone(node.pid, 30.0)

    def restart(self, node: Node, timeout: float = 90.0) -> None:
        """Start a killed node again with its data: it rejoins the cluster by itself.

        A boot that has not opened the MQTT listener in `timeout` is killed and tried once
        more: a clean-clone CI run saw a restarted node stay alive without ever listening,
        and every later test of the session then found it refusing connections. A node
        that fails both boots is rebuilt (`rebuild`): a full test run saw one hang twice,
        and every later test lost three minutes to it."""
        failed = ""
        for _attempt in (1, 2):
            failed = self._boot(node, timeout)
            if not failed:
                self.save()
                return
        try:
            self.rebuild(node, timeout)
        except DevClusterError as exc:
            raise DevClusterError(f"{exc}; before the rebuild: {failed}") from None
        self.save()

    def is_up(self, node: Node) -> bool:
        """Alive and listening on MQTT (the plugin boots last: then AMQP is up too)."""
        return bool(node.pid) and alive(node.pid) and _accepts(node.mqtt_port)

    def _boot(self, node: Node, timeout: float) -> str:
        """Launch and wait; "" when the node is up, else why not (the node is killed)."""
        self.launch(node)
        node.pid = 0
        try:
            self.await_node(node, timeout)
        except DevClusterError as exc:
            node.pid = node.pid or _read_pid(node.pid_file)
            self.kill(node)
            return str(exc)
        return ""

    def rebuild(self, node: Node, timeout: float = 90.0) -> None:
        """A stopped node made again from nothing: the cluster forgets it, its data goes,
        and it boots empty and joins a running peer. Quorum queues declared before keep
        their other members; those declared after have one on every node again."""
        peers = [n for n in self.nodes if n is not node and self.is_up(n)]
        if not peers:
            raise DevClusterError(f"node {node.name}: no running peer to rebuild it from")
        self.kill(node)
        self.ctl(peers[0], "forget_cluster_node", node.name, timeout=120)
        data = Path(node.base) / "mnesia"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True, exist_ok=True)
        self.launch(node)
        node.pid = 0
        self.await_node(node, timeout)
        self.join(node, peers[0])
        self.await_node(node, timeout)


def _tail(node: Node, lines: int = 8) -> str:
    """The end of a node's console log and of its own log, for an error that outlives the
    test's temp dir (the console stops at "Starting broker..."; the log says at what)."""
    log_dir = Path(node.base) / "log"
    parts = []
    for name, label in (("console.log", "its console said"), (f"{node.name}.log", "its log")):
        try:
            text = (log_dir / name).read_text("utf-8", "replace")
        except OSError:
            parts.append(f"{label}: (no {name})")
            continue
        tail = [line.strip()[:300] for line in text.splitlines()[-lines:] if line.strip()]
        parts.append(f"{label}: " + " | ".join(tail))
    return "; ".join(parts)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed child not yet reaped) is not alive for us.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _accepts(port: int) -> bool:
    """Whether something listens on the loopback port (a node's MQTT listener is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def start(directory: Path, nodes: int = 3, timeout: float = 120.0) -> Cluster:
    """Start an N-node cluster in DIR (which must not hold a running one)."""
    if nodes < 1:
        raise DevClusterError(f"--nodes: expected at least 1, got {nodes}")
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        raise DevClusterError(
            f"{RABBITMQ_BIN / 'rabbitmq-server'} not found: install rabbitmq-server "
            "(./hall setup does) or set HALL_CLOUD_RABBITMQ_BIN"
        )
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / STATE_FILE).exists():
        old = Cluster.load(directory)
        if any(n.pid and alive(n.pid) for n in old.nodes):
            raise DevClusterError(f"{directory}: a cluster is running there; stop it first")
    cookie = directory / ".erlang.cookie"
    if not cookie.exists():
        cookie.write_text(secrets.token_hex(20))
    cookie.chmod(0o400)
    # Node names unique on this machine (they share its epmd) yet stable per DIR.
    tag = secrets.token_hex(3)
    ports = free_ports(3 * nodes)
    cluster = Cluster(
        directory,
        [
            Node(
                name=f"hc{tag}n{i + 1}@localhost",
                amqp_port=ports[3 * i],
                mqtt_port=ports[3 * i + 1],
                dist_port=ports[3 * i + 2],
                base=str(directory / f"node{i + 1}"),
            )
            for i in range(nodes)
        ],
    )
    for n in cluster.nodes:
        cluster._write_files(n)
        cluster.launch(n)
    cluster.save()
    try:
        with concurrent.futures.ThreadPoolExecutor(nodes) as pool:
            for f in [pool.submit(cluster.await_node, n, timeout) for n in cluster.nodes]:
                f.result()
            cluster.save()
            first = cluster.nodes[0]
            joins = [pool.submit(cluster.join, n, first) for n in cluster.nodes[1:]]
            for f in joins:
                f.result()
            for f in [pool.submit(cluster.await_node, n, timeout) for n in cluster.nodes]:
                f.result()
        running = cluster.running_nodes(first)
        want = sorted(n.name for n in cluster.nodes)
        if running != want:
            raise DevClusterError(f"cluster formed with {running}, expected {want}")
    except BaseException:
        stop_cluster(cluster)
        raise
    cluster.save()
    return cluster


def stop_cluster(cluster: Cluster, timeout: float = 30.0) -> None:
    """SIGTERM every node (RabbitMQ shuts down cleanly on it), SIGKILL what lingers."""
    for n in cluster.nodes:
        if not n.pid:
            n.pid = _read_pid(n.pid_file)
        if n.pid and alive(n.pid):
            os.kill(n.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for n in cluster.nodes:
        while n.pid and alive(n.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if n.pid and alive(n.pid):
            os.kill(n.pid, signal.SIGKILL)
            _wait_gone(n.pid, 10.0)


def stop(directory: Path, timeout: float = 30.0) -> Cluster:
    cluster = Cluster.load(directory.resolve())
    stop_cluster(cluster, timeout)
    return cluster
