"""`hall-edge faces ...`: enrol consenting customers, erase them, list enrolments.

No logic here: every command calls `edge.faces.enrolment`. Nothing printed is face data:
listings show references, consent ids, purposes and dates only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from edge.cli.common import CONFIG_OPTION, console, fail, load_config
from edge.cli.listing import FORMAT_OPTION, Column, Format, show
from edge.errors import CommandError, EdgeError
from edge.faces import enrolment as ops

app = typer.Typer(
    help="Face cameras: enrol consenting customers, erase enrolments, list them "
    "(encodings are never shown).",
    no_args_is_help=True,
)

T = TypeVar("T")


def _run(action: Callable[[], T]) -> T:
    """Run a package function; an EdgeError becomes one red line and exit code 2."""
    try:
        return action()
    except CommandError as exc:
        fail(escape(exc.msg))
    except EdgeError as exc:
        fail(escape(str(exc)))


@app.command()
def enroll(
    *,
    image: Annotated[
        Path, typer.Option("--image", help="Picture of the customer alone, face to the camera.")
    ],
    customer_ref: Annotated[
        str, typer.Option("--customer-ref", help="Pseudonymous customer reference (required).")
    ] = "",
    consent_id: Annotated[
        str,
        typer.Option("--consent-id", help="Id of the customer's signed face consent (required)."),
    ] = "",
    expires: Annotated[
        str, typer.Option("--expires", help="Last day the consent is valid, YYYY-MM-DD (required).")
    ] = "",
    minor: Annotated[
        bool, typer.Option("--minor", help="The customer is under 14: needs --guardian-consent-id.")
    ] = False,
    guardian_consent_id: Annotated[
        str | None, typer.Option("--guardian-consent-id", help="Id of the guardian's consent.")
    ] = None,
    vip: Annotated[
        bool, typer.Option("--vip", help="Greet and serve as a VIP when recognised.")
    ] = False,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Purpose stated in the consent (default from the config)."),
    ] = None,
    config: CONFIG_OPTION = Path("hall.toml"),
) -> None:
    """Enrol the one face in an image, with the customer's consent; the image is not kept."""
    cfg = load_config(config)
    fields: dict[str, object] = {
        "customer_ref": customer_ref,
        "consent_id": consent_id,
        "expires": expires,
        "minor": minor,
        "guardian_consent_id": guardian_consent_id,
        "vip": vip,
        "purpose": purpose,
    }
    now = datetime.now(UTC)
    tz = ZoneInfo(cfg.hall.timezone)
    result = _run(
        lambda: ops.enroll_image(cfg.faces, cfg.base_dir, image, fields=fields, now=now, tz=tz)
    )
    e = result.enrolment
    verb = "re-enrolled" if result.replaced else "enrolled"
    console.print(
        f"{verb} {escape(e.customer_ref)} (consent {escape(e.consent_id)}, "
        f"valid until {e.expires.isoformat()})"
    )


@app.command()
def erase(
    customer_ref: Annotated[str, typer.Argument(help="The reference to erase.", metavar="REF")],
    config: CONFIG_OPTION = Path("hall.toml"),
) -> None:
    """Erase a customer's enrolment now; the erasure is logged without any face data."""
    cfg = load_config(config)
    _run(lambda: ops.erase_reference(cfg.faces, cfg.base_dir, customer_ref, datetime.now(UTC)))
    console.print(f"erased {escape(customer_ref)}")


@app.command("list")
def list_(config: CONFIG_OPTION = Path("hall.toml"), fmt: FORMAT_OPTION = Format.table) -> None:
    """List enrolments: references, consent ids, purposes and expiry dates (no face data).

    Enrolments past their expiry date are erased first (and logged), as the hub does hourly.
    """
    cfg = load_config(config)
    tz = ZoneInfo(cfg.hall.timezone)
    expired = _run(lambda: ops.erase_expired(cfg.faces, cfg.base_dir, datetime.now(UTC), tz))
    if expired and fmt is Format.table:
        console.print(f"erased {len(expired)} expired enrolment(s): {escape(', '.join(expired))}")
    enrolments = _run(lambda: ops.list_enrolments(cfg.faces, cfg.base_dir))
    if not enrolments and fmt is Format.table:
        console.print("no enrolments")
        return
    rows = [
        {
            "reference": e.customer_ref,
            "consent_id": e.consent_id,
            "purpose": e.purpose,
            "expires": e.expires.isoformat(),
            "minor": e.minor,
            "guardian_consent_id": e.guardian_consent_id,
            "vip": e.vip,
        }
        for e in enrolments
    ]
    if fmt is Format.table:
        for row in rows:
            row["minor"] = "yes" if row["minor"] else ""
            row["vip"] = "yes" if row["vip"] else ""
    cols = [
        Column("reference", keep=True),
        Column("consent_id", "consent id"),
        Column("purpose", drop=1),
        Column("expires", keep=True),
        Column("minor"),
        Column("guardian_consent_id", "guardian consent", drop=2),
        Column("vip"),
    ]
    show(fmt, cols, rows)


@app.command()
def erasures(
    last: Annotated[int, typer.Option("--last", "-n", help="Show only the newest N lines.")] = 50,
    config: CONFIG_OPTION = Path("hall.toml"),
    fmt: FORMAT_OPTION = Format.table,
) -> None:
    """Show the erasure log: reference, consent id, reason and time of every erasure."""
    cfg = load_config(config)
    lines = _run(lambda: ops.erasure_log(cfg.faces, cfg.base_dir, limit=last))
    if not lines and fmt is Format.table:
        console.print("no erasures logged")
        return
    rows = [
        {
            "erased_at": line.erased_at.isoformat(timespec="seconds"),
            "reference": line.customer_ref,
            "consent_id": line.consent_id,
            "reason": line.reason,
        }
        for line in lines
    ]
    cols = [
        Column("erased_at", "erased at", keep=True),
        Column("reference", keep=True),
        Column("consent_id", "consent id"),
        Column("reason"),
    ]
    show(fmt, cols, rows)
