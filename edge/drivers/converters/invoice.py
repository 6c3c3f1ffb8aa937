"""The `escpos_invoice` encoder: an invoice as ESC/POS bytes, laid out with python-escpos.

python-escpos provides the printer commands (alignment, size, QR code, cut) through its
`Dummy` printer, which only collects bytes; the Chinese text itself is encoded here in the
profile's encoding (GB18030 by default) because the library's code-page guessing does not
know the Chinese character mode of the printers sold in China.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from edge.config.hub import Section
from edge.drivers.converters.base import DeviceContext, Outgoing, encoder
from edge.drivers.converters.encoders import encode_text
from edge.drivers.framing import Frame
from edge.errors import CommandError
from edge.model import BAD_ARGS

_FS_CHINESE_ON = b"\x1c\x26"  # FS &: two-byte (GB) characters from here on
_FS_CHINESE_OFF = b"\x1c\x2e"


class InvoiceParams(Section, frozen=True, kw_only=True):
    columns: int = 48  # characters per line in font A (80 mm paper: 48, 58 mm: 32)
    chinese_mode: bool = True  # send FS & first (GB18030/GBK printers); off for UTF-8 ones
    cut: bool = True
    escpos_profile: str = "default"
    title: str = "电费发票"

    def __post_init__(self) -> None:
        if not 16 <= self.columns <= 80:
            raise ValueError("`columns` to be from 16 to 80")


def text_width(text: str) -> int:
    """Printed width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def columns(left: str, right: str, width: int) -> str:
    """`left ... right` on one line of `width` columns (left cut if it does not fit)."""
    room = width - text_width(right) - 1
    while text_width(left) > room and left:
        left = left[:-1]
    return left + " " * (width - text_width(left) - text_width(right)) + right


def yuan(cents: int) -> str:
    """Cents as yuan text: 12850 -> '128.50'."""
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else "-" + yuan(-cents)


def _items(args: Mapping[str, Any]) -> list[tuple[str, int]]:
    items = args.get("items") or [{"name": "电费", "amount_cents": args["amount_cents"]}]
    out: list[tuple[str, int]] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("amount_cents"), int):
            raise CommandError(BAD_ARGS, f"items[{i}] needs a name and an integer amount_cents")
        out.append((str(item.get("name", "")), item["amount_cents"]))
    return out


@encoder("escpos_invoice", InvoiceParams)
def escpos_invoice(
    values: Mapping[str, Any], ctx: DeviceContext, p: InvoiceParams, frame: Frame | None
) -> list[Outgoing]:
    """printer.print_invoice -> ESC/POS bytes (header, items, total, optional QR, cut)."""
    amount = values.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise CommandError(BAD_ARGS, "amount_cents must be an integer")
    if not values.get("invoice_no"):
        raise CommandError(BAD_ARGS, "missing argument invoice_no")
    items = _items(values)
    # Imported here: python-escpos loads its printer database on import (≈0.3 s, 11 MB),
    # which a hub without a printer should not pay for.
    from escpos.printer import Dummy  # noqa: PLC0415

    printer = Dummy(profile=p.escpos_profile)

    def line(text: str = "") -> None:
        printer._raw(encode_text(text + "\n", ctx.encoding))

    if p.chinese_mode:
        printer._raw(_FS_CHINESE_ON)
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    line(str(values.get("seller") or p.title))
    printer.set_with_default(align="center")
    line(p.title if values.get("seller") else "")
    printer.set_with_default()
    line(f"发票号码: {values['invoice_no']}")
    if values.get("issued_at"):
        line(f"开票日期: {values['issued_at']}")
    if values.get("buyer"):
        line(f"购买方: {values['buyer']}")
    if values.get("account"):
        line(f"户号: {values['account']}")
    line("-" * p.columns)
    for name, cents in items:
        line(columns(name, yuan(cents), p.columns))
    line("-" * p.columns)
    printer.set(bold=True)
    line(columns("合计", "￥" + yuan(amount), p.columns))
    printer.set_with_default()
    if values.get("qr"):
        printer.set(align="center")
        printer.qr(str(values["qr"]), native=True, size=4)
        printer.set_with_default()
    if p.chinese_mode:
        printer._raw(_FS_CHINESE_OFF)
    if p.cut:
        printer.cut()
    return [bytes(printer.output)]
