"""Hot-plug of serial devices: which ports are present, which configured device each one is.

With udevd running, pyudev lists the tty devices with their `ID_*` properties and a netlink
monitor says when one comes or goes. Without udevd (containers, CI) there are no `ID_*`
properties and the monitor hears nothing, so the watcher falls back to reading
/dev/serial/by-id and /sys/class/tty every second, and says so once in the log.

Matching a port to a device is a pure function of the port's properties (`port_matches`),
so it is tested with property dicts, without udev.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.drivers.profile_schema import MatchSpec, UsbIds

log = logging.getLogger(__name__)

BY_ID_DIR = "/dev/serial/by-id"
SYS_TTY = "/sys/class/tty"
UDEV_CONTROL = "/run/udev/control"
_GLOB = set("*?[")


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port present on the hub."""

    device: str  # the device node, /dev/ttyUSB0
    links: tuple[str, ...] = ()  # its /dev/serial/by-id/... links
    vendor_id: str | None = None  # USB ids, lower-case hex
    product_id: str | None = None
    serial: str | None = None  # the USB serial number
    description: str = ""

    @property
    def by_id(self) -> str | None:
        """The first /dev/serial/by-id link of the port, if any."""
        return self.links[0] if self.links else None


def port_from_udev(props: Mapping[str, str]) -> PortInfo:
    """A port from a udev device's properties (DEVNAME, DEVLINKS, ID_VENDOR_ID, ...)."""
    links = tuple(
        sorted(link for link in props.get("DEVLINKS", "").split() if "/serial/by-id/" in link)
    )
    vendor = props.get("ID_VENDOR_FROM_DATABASE") or props.get("ID_VENDOR", "")
    model = props.get("ID_MODEL_FROM_DATABASE") or props.get("ID_MODEL", "")
    return PortInfo(
        device=props.get("DEVNAME", ""),
        links=links,
        vendor_id=(props.get("ID_VENDOR_ID") or None) and props["ID_VENDOR_ID"].lower(),
        product_id=(props.get("ID_MODEL_ID") or None) and props["ID_MODEL_ID"].lower(),
        serial=props.get("ID_SERIAL_SHORT") or None,
        description=" ".join(x for x in (vendor, model) if x).replace("_", " "),
    )


def is_pattern(path: str) -> bool:
    """True when a port setting is a glob (*, ?, [) rather than a path."""
    return any(c in _GLOB for c in path)


def _names(port: PortInfo) -> list[str]:
    return [port.device, *port.links]


def port_matches(port: PortInfo, match: MatchSpec | None, settings: Mapping[str, Any]) -> bool:
    """Is `port` the configured device? Pure: the device's settings, else its profile's rules.

    A `port` setting (path or glob) decides alone, narrowed by `serial_number` if given.
    Otherwise the profile's USB ids and by-id patterns must all be met (at least one given),
    and the device's `serial_number` tells identical adapters apart.
    """
    wanted_serial = settings.get("serial_number")
    if wanted_serial is not None and not _serial_ok(port, str(wanted_serial)):
        return False
    explicit = settings.get("port")
    if explicit:
        if not is_pattern(str(explicit)):
            # A literal path may be a link of its own (a udev rule's /dev/hall/{id}): the
            # port it points at is this one.
            return os.path.realpath(str(explicit)) in {os.path.realpath(n) for n in _names(port)}
        return any(fnmatch.fnmatchcase(name, str(explicit)) for name in _names(port))
    if settings.get("usb_vendor"):
        # The device's own USB ids stand in for its profile's.
        usb = [
            UsbIds(vendor_id=str(settings["usb_vendor"]), product_id=settings.get("usb_product"))
        ]
        match = MatchSpec(usb=usb)  # the profile's by-id patterns name its usual adapters
    if match is None or not (match.usb or match.by_id):
        return False
    if match.usb and not any(
        port.vendor_id == u.vendor_id.lower()
        and (u.product_id is None or port.product_id == u.product_id.lower())
        for u in match.usb
    ):
        return False
    if match.by_id:
        names = [os.path.basename(link) for link in port.links]
        if not any(fnmatch.fnmatchcase(n, pat) for n in names for pat in match.by_id):
            return False
    return True


def _serial_ok(port: PortInfo, wanted: str) -> bool:
    if port.serial is not None:
        return port.serial == wanted
    # Without udev or sysfs data the serial number is still part of the by-id link name.
    return any(wanted in os.path.basename(link) for link in port.links)


# -- listing ports ---------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _usb_info(sys_tty: Path, name: str) -> tuple[str | None, str | None, str | None, str]:
    """USB ids, serial and description of a tty from sysfs (walking up to the USB device)."""
    try:
        node = (sys_tty / name / "device").resolve(strict=True)
    except OSError:
        return None, None, None, ""
    for parent in [node, *node.parents]:
        vendor = _read(parent / "idVendor")
        if vendor is not None:
            desc = " ".join(
                x for x in (_read(parent / "manufacturer"), _read(parent / "product")) if x
            )
            return (
                vendor.lower(),
                (_read(parent / "idProduct") or "").lower() or None,
                _read(parent / "serial"),
                desc,
            )
        if parent == Path("/sys/devices"):
            break
    return None, None, None, ""


def _real_uart(sys_tty: Path, name: str) -> bool:
    """ttyS ports are listed only when a UART is really there (most are placeholders)."""
    if not name.startswith("ttyS"):
        return (sys_tty / name / "device").exists()
    return _read(sys_tty / name / "type") not in (None, "0")


def list_ports_sysfs(by_id_dir: str = BY_ID_DIR, sys_tty: str = SYS_TTY) -> list[PortInfo]:
    """Ports from /dev/serial/by-id and /sys/class/tty, without udev."""
    links: dict[str, list[str]] = {}
    with contextlib.suppress(OSError):
        for entry in sorted(os.listdir(by_id_dir)):
            path = os.path.join(by_id_dir, entry)
            target = os.path.realpath(path)
            if os.path.exists(target):
                links.setdefault(target, []).append(path)
    tty = Path(sys_tty)
    devices = set(links)
    with contextlib.suppress(OSError):
        for entry in os.listdir(tty):
            if entry.startswith(("ttyUSB", "ttyACM", "ttyAMA", "ttyS", "ttyCH")) and _real_uart(
                tty, entry
            ):
                devices.add(f"/dev/{entry}")
    ports = []
    for dev in sorted(devices):
        vendor, product, serial, desc = _usb_info(tty, os.path.basename(dev))
        ports.append(PortInfo(dev, tuple(links.get(dev, ())), vendor, product, serial, desc))
    return ports


def list_ports_udev() -> list[PortInfo]:
    """Ports from udev's database (needs udevd for the ID_* properties)."""
    import pyudev  # noqa: PLC0415 - only where udev is used

    ports = []
    for device in pyudev.Context().list_devices(subsystem="tty"):
        props = {k: str(v) for k, v in device.properties.items()}
        if device.parent is None or not props.get("DEVNAME"):
            continue  # virtual consoles and ptys
        ports.append(port_from_udev(props))
    return sorted(ports, key=lambda p: p.device)


def udev_available() -> bool:
    """udevd runs (its control socket exists); else there are no ID_* properties to read."""
    return os.path.exists(UDEV_CONTROL)


_fallback_said = False


class PortWatcher:
    """Which serial ports are present now, and a way to wait until that changes."""

    def __init__(
        self,
        *,
        by_id_dir: str = BY_ID_DIR,
        sys_tty: str = SYS_TTY,
        poll_s: float = 1.0,
        use_udev: bool | None = None,
    ) -> None:
        self.by_id_dir = by_id_dir
        self.sys_tty = sys_tty
        self.poll_s = poll_s
        self.use_udev = udev_available() if use_udev is None else use_udev
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last: list[PortInfo] = []

    @property
    def mode(self) -> str:
        """How ports are watched: `udev` or `polling`."""
        return "udev" if self.use_udev else "polling"

    def ports(self) -> list[PortInfo]:
        """The ports present now."""
        if self.use_udev:
            return list_ports_udev()
        return list_ports_sysfs(self.by_id_dir, self.sys_tty)

    def find(self, match: MatchSpec | None, settings: Mapping[str, Any]) -> list[PortInfo]:
        """The present ports that are this device."""
        return [p for p in self.ports() if port_matches(p, match, settings)]

    async def wait_change(self, wait_s: float) -> None:
        """Return when the set of ports changes, or after `wait_s` seconds."""
        self._ensure_running()
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await event.wait()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _ensure_running(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._last = self.ports()
        self._changed = asyncio.Event()  # a fresh one: a previous event loop may have bound the old
        self._task = asyncio.create_task(
            self._watch_udev() if self.use_udev else self._poll(), name="hot-plug watcher"
        )

    async def _poll(self) -> None:
        global _fallback_said
        if not _fallback_said:
            _fallback_said = True
            log.warning(
                "hot-plug: no udevd (%s missing): polling %s and %s every %g s instead",
                UDEV_CONTROL,
                self.by_id_dir,
                self.sys_tty,
                self.poll_s,
            )
        while True:
            await asyncio.sleep(self.poll_s)
            now = self.ports()
            if now != self._last:
                self._last = now
                self._notify()

    async def _watch_udev(self) -> None:
        import pyudev  # noqa: PLC0415

        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        monitor.filter_by("tty")
        monitor.start()
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(monitor.fileno(), readable.set)
        log.info("hot-plug: watching udev for serial ports")
        try:
            while True:
                await readable.wait()
                readable.clear()
                while monitor.poll(timeout=0) is not None:
                    pass
                self._notify()
        finally:
            loop.remove_reader(monitor.fileno())

    async def close(self) -> None:
        """Stop watching (the background task ends)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def describe(match: MatchSpec | None, settings: Mapping[str, Any]) -> str:
    """How a device is looked for, in words for the log and `devices scan`."""
    parts: list[str] = []
    if settings.get("port"):
        parts.append(f"port {settings['port']}")
    elif match is not None:
        parts += [f"USB {u.vendor_id}:{u.product_id or '*'}" for u in match.usb]
        parts += [f"by-id {p}" for p in match.by_id]
    if settings.get("serial_number"):
        parts.append(f"serial number {settings['serial_number']}")
    return ", ".join(parts) or "nothing (give the device a port setting)"
