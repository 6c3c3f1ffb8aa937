"""ESC/POS invoice printers: real-time status polled with DLE EOT 1-4, invoices printed.

The printer answers each `DLE EOT n` with one status byte that does not say which request it
answers, so the requests are made one at a time and each answer is read in the light of
its `n`. `printer.status` is journaled only when the status changes (paper near end, paper
end, cover open, cutter error, unrecoverable error), not at every poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from edge.drivers.args import check_args
from edge.drivers.endpoint import Endpoint, LineIO
from edge.drivers.framing import Frame
from edge.drivers.profile_schema import PrinterSpec
from edge.errors import CommandError, LinkError
from edge.model import DEVICE_ERROR, DONE, OFFLINE, TIMEOUT, Command, Event, Reply

QUERY_STATUS = "printer.query_status"
PRINT_INVOICE = "printer.print_invoice"

Paper = Literal["ok", "near_end", "end"]


def dle_eot(n: int) -> bytes:
    """The real-time status request `DLE EOT n` (10 04 n)."""
    return bytes((0x10, 0x04, n))


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """The catalogue's printer.status data."""

    online: bool
    paper: Paper
    cover_open: bool
    cutter_error: bool
    unrecoverable: bool

    def as_data(self) -> dict[str, Any]:
        """The event data of printer.status."""
        return asdict(self)

    @property
    def can_print(self) -> bool:
        """Ready for an invoice: online, paper left, cover shut, no error."""
        return (
            self.online
            and self.paper != "end"
            and not (self.cover_open or self.cutter_error or self.unrecoverable)
        )

    def faults(self) -> set[str]:
        """What someone has to fix at the printer (paper near end is a warning, not a fault)."""
        return {
            text
            for flag, text in (
                (self.paper == "end", "paper end"),
                (self.cover_open, "cover open"),
                (self.cutter_error, "cutter error"),
                (self.unrecoverable, "unrecoverable error"),
            )
            if flag
        }

    def why_not(self) -> str:
        """What keeps the printer from printing, in words ('ready' if nothing)."""
        reasons = [
            text
            for flag, text in (
                (not self.online, "offline"),
                (self.paper == "end", "paper end"),
                (self.cover_open, "cover open"),
                (self.cutter_error, "cutter error"),
                (self.unrecoverable, "unrecoverable error"),
            )
            if flag
        ]
        return ", ".join(reasons) or "ready"


def decode_status(replies: Mapping[int, int]) -> PrinterStatus:
    """The four DLE EOT answers (n -> status byte) read per docs/devices.md §6's bits."""
    n1, n2, n3, n4 = (replies[n] for n in (1, 2, 3, 4))
    if n4 & 0x60 or n2 & 0x20:
        paper: Paper = "end"
    elif n4 & 0x0C:
        paper = "near_end"
    else:
        paper = "ok"
    return PrinterStatus(
        online=not n1 & 0x08,
        paper=paper,
        cover_open=bool(n2 & 0x04),
        cutter_error=bool(n3 & 0x08),
        unrecoverable=bool(n3 & 0x20),
    )


def _any(frame: Frame) -> bool:
    return True


class PrinterEndpoint(Endpoint):
    """An invoice printer on its own serial line (the profile's `printer:` section)."""

    status: PrinterStatus | None = None

    @property
    def spec(self) -> PrinterSpec:
        """The profile's printer section (defaults if it has none)."""
        return self.profile.printer or PrinterSpec()

    async def read_status(self, line: LineIO) -> PrinterStatus | None:
        """One round of DLE EOT 1-4; None if the printer did not answer all four."""
        replies: dict[int, int] = {}
        for n in (1, 2, 3, 4):
            frame = await line.request(None, [dle_eot(n)], _any, self.spec.reply_timeout_s)
            if frame is None or not frame.payload:
                return None
            replies[n] = frame.payload[0]
        return decode_status(replies)

    def _publish(self, status: PrinterStatus) -> None:
        if status != self.status:
            before = self.status.faults() if self.status is not None else set()
            self.status = status
            self.port.submit(
                Event("printer.status", self.device_id, status.as_data(), time=self.clock())
            )
            new = status.faults() - before
            if new:
                # A fault someone must clear at the printer (paper, cover, cutter): raised
                # once as it appears, not at every poll while it lasts.
                data = {"reason": ", ".join(sorted(new)), "faults": sorted(status.faults())}
                self.port.submit(Event("device.error", self.device_id, data, time=self.clock()))

    async def poll_loop(self) -> None:
        misses = 0
        while self.line is not None:
            status = await self.read_status(self.line)
            if status is None:
                misses += 1
                if misses >= self.spec.offline_after:
                    self.presence.set(False, f"no answer to DLE EOT {misses} times")
            else:
                misses = 0
                self.presence.set(True, "printer answered")
                self._publish(status)
            await asyncio.sleep(self.spec.poll_interval_s)

    async def execute(self, cmd: Command) -> Reply:
        spec = self.command_spec(cmd)
        args = check_args(spec.args, cmd.args, cmd.name, spec.extra_args)
        line = self.connected_line()
        try:
            if cmd.name == QUERY_STATUS:
                status = await self.read_status(line)
                if status is None:
                    raise CommandError(TIMEOUT, f"{self.device_id} did not answer DLE EOT")
                self._publish(status)
                return Reply(cmd.cmd_id, DONE, status.why_not(), status.as_data())
            if cmd.name == PRINT_INVOICE:
                return await self._print(cmd, args, line)
            return await super().execute(cmd)
        except LinkError as exc:
            raise CommandError(OFFLINE, str(exc)) from None

    async def _print(self, cmd: Command, args: dict[str, Any], line: LineIO) -> Reply:
        before = await self.read_status(line)
        if before is None:
            raise CommandError(TIMEOUT, f"{self.device_id} did not answer DLE EOT")
        self._publish(before)
        if not before.can_print:
            raise CommandError(DEVICE_ERROR, f"{self.device_id} cannot print: {before.why_not()}")
        items = self._encoders[cmd.name](
            self.values({**args, "cmd_id": cmd.cmd_id}), self.ctx, None
        )
        line.send(items)
        after = await self.read_status(line)
        if after is None:
            raise CommandError(TIMEOUT, f"{self.device_id} stopped answering while printing")
        self._publish(after)
        if not after.can_print:
            # The printer stopped mid-invoice (paper ran out, cover opened): reprint it.
            raise CommandError(DEVICE_ERROR, f"{self.device_id} failed printing: {after.why_not()}")
        self.port.submit(
            Event(
                "invoice.printed",
                self.device_id,
                {"invoice_no": args.get("invoice_no"), "amount_cents": args.get("amount_cents")},
                time=self.clock(),
            )
        )
        return Reply(cmd.cmd_id, DONE, "printed", {"status": after.as_data()})
