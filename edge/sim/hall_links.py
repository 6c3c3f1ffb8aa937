"""The serial lines of a simulated hall (pty pairs) and the `[[devices]]` of its hub config.

`open_hall_links()` makes the virtual cables before the hub starts, so the hub's config can
name them; `run_hall()` (hall_day.py) then puts the simulated devices on their device ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.sim.hall_config import toml_tables
from edge.sim.ports import PtyLink

ROBOT_SERIAL = "GB2-0001"
KIOSK_SERIAL = "PS60-0001"
FEEDBACK_SERIAL = "VOC-0001"
EFORM_SERIAL = "EF-0001"
PAD_BUS_BASE = 20  # rating pads on the bus use addresses 21, 22 ...; callers 1, 2 ...
MODBUS_PAD_SLAVE = 1


@dataclass
class HallLinks:
    """Virtual serial cables of a hall: one RS-485 bus for callers and pads, a Modbus line
    for the last counter's pad, and a line each for the ticket machine, display, printer."""

    counters: int
    bus: PtyLink
    modbus: PtyLink
    ticket: PtyLink
    display: PtyLink
    printer: PtyLink
    extra: dict[str, Any] = field(default_factory=dict)

    def devices(self) -> list[dict[str, Any]]:
        """The `[[devices]]` entries of the hub config for this hall (DeviceSection fields)."""
        out: list[dict[str, Any]] = []
        bus = self.bus.hub_path
        for i in range(1, self.counters + 1):
            out.append(
                _dev(
                    f"caller-{i}",
                    "counter-caller-485",
                    f"{i}号窗口呼叫器",
                    port=bus,
                    address=i,
                    counter=i,
                )
            )
        for i in range(1, self.counters):
            out.append(
                _dev(
                    f"pad-{i}",
                    "rating-pad-485",
                    f"{i}号窗口评价器",
                    port=bus,
                    address=PAD_BUS_BASE + i,
                    counter=i,
                )
            )
        out.append(
            _dev(
                f"pad-{self.counters}",
                "rating-pad-modbus",
                f"{self.counters}号窗口评价器",
                port=self.modbus.hub_path,
                address=MODBUS_PAD_SLAVE,
                counter=self.counters,
            )
        )
        out.append(_dev("ticket-1", "ticket-machine-serial", "取号机", port=self.ticket.hub_path))
        out.append(_dev("display-1", "call-display-485", "叫号屏", port=self.display.hub_path))
        out.append(
            _dev("printer-1", "invoice-printer-escpos", "发票打印机", port=self.printer.hub_path)
        )
        out.append(_dev("robot-1", "guide-robot-mqtt", "引导机器人", serial=ROBOT_SERIAL))
        out.append(_dev("kiosk-1", "payment-kiosk-mqtt", "自助缴费机", serial=KIOSK_SERIAL))
        out.append(
            _dev("feedback-1", "feedback-machine-mqtt", "意见反馈机", serial=FEEDBACK_SERIAL)
        )
        out.append(_dev("eform-1", "eform-desk-mqtt", "电子填单台", serial=EFORM_SERIAL))
        return out

    def close(self) -> None:
        for link in (self.bus, self.modbus, self.ticket, self.display, self.printer):
            link.unplug()


def _dev(device_id: str, profile: str, name: str, **settings: Any) -> dict[str, Any]:
    return {"id": device_id, "profile": profile, "name": name, "settings": settings}


def open_hall_links(counters: int = 4, link_dir: str | Path | None = None) -> HallLinks:
    """Make the pty pairs; with `link_dir`, named symlinks to them (ttyBus, ttyTicket ...)."""
    if counters < 2:
        raise ValueError("a simulated hall has at least 2 counters")

    def pty(name: str) -> PtyLink:
        return PtyLink(Path(link_dir) / name if link_dir is not None else None)

    return HallLinks(
        counters,
        pty("ttyBus"),
        pty("ttyModbus"),
        pty("ttyTicket"),
        pty("ttyDisplay"),
        pty("ttyPrinter"),
    )


def devices_toml(devices: list[dict[str, Any]]) -> str:
    """`[[devices]]` tables for a hall.toml, from `HallLinks.devices()`."""
    keys = ("id", "profile", "name", "settings")
    return toml_tables({"devices": [{k: dev[k] for k in keys} for dev in devices]})
