"""The composition root: the hub's stages built in the order an event meets them, then
the parts, then the few connections that close the loops. Read this top to bottom to see
the pipeline; docs/architecture.md draws it."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from edge.clock import Clock, utcnow
from edge.config import HubConfig
from edge.drivers.profile_schema import Profile
from edge.drivers.profiles import ProfileSet, load_profiles
from edge.drivers.registry import build_codec, build_driver
from edge.hub.alerts import Alerts
from edge.hub.announce_check import check_one_announcer
from edge.hub.app import Hub
from edge.hub.commands import CommandRouter
from edge.hub.config_command import config_get
from edge.hub.devices import DeviceTable
from edge.hub.fanout import Fanout
from edge.hub.gate import JournalGate
from edge.hub.hall_link import HallLink
from edge.hub.intake import Intake
from edge.hub.mqtt_intake import CONVENTION_FILTERS, MqttIntake
from edge.hub.part import Core, Part
from edge.hub.parts.devices import attach_devices
from edge.hub.parts.faces import attach_faces
from edge.hub.parts.feedback import attach_feedback
from edge.hub.parts.kpi import attach_kpi
from edge.hub.parts.queue import attach_queue
from edge.hub.parts.rules import attach_rules, rules_stage
from edge.hub.parts.web import attach_web
from edge.hub.pipeline import JournalPipeline
from edge.hub.rating_check import check_rating_timeout
from edge.hub.rules_stage import RulesStage
from edge.hub.side_writes import CommandLog, DeviceLog
from edge.hub.startup import check_disk_budget, finish_interrupted_commands
from edge.rules.hubconfig import ruleset_for
from edge.store import Journal, JournalReader, open_journal
from edge.uplink import Uplink


def _profiles(cfg: HubConfig) -> ProfileSet:
    return load_profiles(cfg.resolve(cfg.profiles_dir) if cfg.profiles_dir else None)


@dataclass(frozen=True, slots=True)
class _Stages:
    """The core's stages and the pieces only the root and the runtime hold."""

    core: Core
    gate: JournalGate
    journal: Journal
    rules: RulesStage | None
    router: CommandRouter
    alerts: Alerts
    device_log: DeviceLog


async def build_hub(cfg: HubConfig, clock: Clock = utcnow) -> Hub:
    """A hub with every configured part attached, its state rebuilt from the journal.

    `clock` is the hall's time for every stage that stamps one (the demo's runs faster).
    """
    profiles = _profiles(cfg)
    st = _stages(cfg, clock)
    core = st.core
    parts = [
        attach_devices(core, profiles),
        attach_rules(core, st.rules) if st.rules is not None else Part(),
        attach_queue(core),
        attach_kpi(core),
        attach_feedback(core),
        attach_faces(core, profiles),
    ]
    mqtt = MqttIntake(
        core.intake,
        core.devices,
        core.tz,
        cfg.hall_broker.max_message_bytes,
        [h for p in parts for h in p.topic_handlers],
    )
    _close_the_loops(st, mqtt, [t for p in parts for t in p.subscriptions])
    for part in parts:
        core.fanout.services.extend(part.services)
        for name, handler in part.commands.items():
            st.router.register(name, handler)
        for device_id, transport in part.transports.items():
            core.devices.entries[device_id].transport = transport
    hub = Hub(
        core,
        gate=st.gate,
        journal=st.journal,
        router=st.router,
        alerts=st.alerts,
        mqtt=mqtt,
        tasks=[t for p in parts for t in p.tasks],
        on_stop=[h for p in parts for h in p.on_stop],
        exposes={k: v for p in parts for k, v in p.exposes.items()},
    )
    # Last: the HTTP side reads the running hub (health, metrics) and every part.
    kinds = {d.id: str(profiles.get_profile(d.profile).kind) for d in cfg.devices}
    attach_web(hub, kinds)
    return hub


def _stages(cfg: HubConfig, clock: Clock) -> _Stages:
    """The stages, in the order an event meets them."""
    # The journal, and the one door to its writing connection.
    gate = JournalGate()
    journal = open_journal(cfg, clock)
    check_disk_budget(cfg, journal)
    finish_interrupted_commands(journal)
    reader = JournalReader(journal.path)

    # Stamp → rules → write: the rules decide between the numbering and the transaction.
    rules = rules_stage(cfg, reader) if cfg.rules.enabled else None
    linger_s = cfg.store.batch_linger_ms / 1000
    pipeline = JournalPipeline(journal, gate, cfg.store.batch_max_rows, rules, linger_s)
    alerts = Alerts(pipeline)

    # The devices' side: the hall broker, the table of devices, the one way in.
    hall = HallLink(cfg)
    devices = DeviceTable(cfg.devices, hall.publish, clock)
    device_log = DeviceLog(journal, gate)
    intake = Intake(pipeline, devices, device_log)

    # The cloud's side: the outbox drained by the uplink, commands back through the router.
    uplink = Uplink(
        cfg.cloud,
        cfg.hall.id,
        cfg.cloud.client_id or f"hall-edge-{cfg.hall.id}",
        journal,
        gate,
        reader,
        device_states=devices.states,
        resolve=lambda p: str(cfg.resolve(p)),
        on_parked=alerts.parked,
    )
    router = CommandRouter(
        devices,
        CommandLog(journal, gate),
        uplink.publish_reply,
        cfg.commands.timeout_s,
        cfg.commands.offline_wait_s,
        on_internal_failure=rules.action_failed if rules is not None else _ignore,
    )
    fanout = Fanout(pipeline, router, uplink, hall, alerts)
    tz = ZoneInfo(cfg.hall.timezone)
    core = Core(cfg, tz, clock, reader, pipeline, intake, devices, hall, uplink, fanout)
    return _Stages(core, gate, journal, rules, router, alerts, device_log)


def _close_the_loops(st: _Stages, mqtt: MqttIntake, subscriptions: list[str]) -> None:
    """The connections against the flow: after a commit, the fan-out; the hall link reads
    into the MQTT intake and pauses while the pipeline is full; the cloud's commands reach
    the router; availability changes reach the cloud and the journal."""
    core = st.core
    core.pipeline.on_written.append(core.fanout.written)
    core.pipeline.on_low_water.append(core.hall.resume)
    core.hall.route_to(mqtt.receive, [*CONVENTION_FILTERS, *subscriptions], core.pipeline.is_full)
    core.uplink.route_commands(st.router.from_cloud)
    core.devices.on_state_change += [core.uplink.publish_device_state, st.device_log.state_changed]
    st.router.register("config.get", config_get(core.cfg))


def _ignore(*_args: object) -> None:
    return None


def check_config(cfg: HubConfig) -> list[str]:
    """Deeper checks than the schema (profiles, device settings, rules): raises EdgeError."""
    notes: list[str] = []
    profiles = _profiles(cfg)
    kinds: dict[str, int] = {}
    of_device: dict[str, Profile] = {}
    for i, dev in enumerate(cfg.devices):
        profile = profiles.get_profile(dev.profile, cfg.source, f"devices[{i}] ({dev.id}).profile")
        of_device[dev.id] = profile
        # Builds nothing that runs: settings are validated the way the hub will read them.
        if (
            build_codec(dev, profile, cfg.source, f"devices[{i}] ({dev.id})") is None
            and profile.serial is not None
        ):
            build_driver(dev, profile, _NoPort(), file=cfg.source, where=f"devices[{i}] ({dev.id})")
        kinds[str(profile.kind)] = kinds.get(str(profile.kind), 0) + 1
    notes.append("devices: " + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"))
    check_rating_timeout(cfg, of_device)
    if cfg.rules.enabled:
        rs = ruleset_for(cfg)
        check_one_announcer(cfg, rs)
        notes.append(f"rules: {len(rs.rules)} rules from {len(rs.files)} files")
    if cfg.queue.enabled and cfg.queue.services:
        notes.append(
            f"queue: {len(cfg.queue.services)} services, {len(cfg.queue.counters)} counters"
        )
    return notes


class _NoPort:
    """A HubPort for validation only: nothing is ever submitted through it."""

    def submit(self, event: object, on_committed: object = None) -> None:
        raise RuntimeError("validation port")

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        raise RuntimeError("validation port")

    def set_online(self, device_id: str, online: bool, reason: str = "") -> None:
        raise RuntimeError("validation port")

    def log_error(self, device_id: str, message: str) -> None:
        raise RuntimeError("validation port")
