"""`hall-edge install`, `hall-edge uninstall` and `hall-edge broker sync`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from edge.cli.common import console, fail, load_config
from edge.config import HubConfig
from edge.errors import ConfigError, EdgeError
from edge.install import files
from edge.install.accounts import reload_broker, sync
from edge.install.layout import Layout
from edge.install.plan import (
    Action,
    execute,
    install_actions,
    uninstall_actions,
    writable_notes,
)
from edge.install.udev import udev_rules

ROOT_OPTION = Annotated[
    Path,
    typer.Option(
        "--root",
        help="Install into this staged tree instead of / (useradd, systemctl, udevadm are "
        "then only printed).",
    ),
]
DRY_RUN = Annotated[bool, typer.Option("--dry-run", help="Print every action and change nothing.")]

app = typer.Typer(help="Install the hub on this box (as root).", no_args_is_help=False)
uninstall_app = typer.Typer(help="Remove the hub from this box.", no_args_is_help=False)
broker_app = typer.Typer(help="The hall broker's accounts.", no_args_is_help=True)


def _layout(root: Path) -> Layout:
    layout = Layout(root)
    if not layout.staged and os.geteuid() != 0:
        fail("run as root (sudo hall-edge ...), or give --root DIR for a staged tree")
    return layout


def _checked(cfg: HubConfig) -> HubConfig:
    from edge.hub.build import check_config  # noqa: PLC0415 - heavy; the profiles and rules

    try:
        check_config(cfg)
    except EdgeError as exc:
        fail(str(exc))
    return cfg


def _say(action: Action) -> None:
    colour = {"unchanged": "dim", "kept": "cyan", "skipped": "yellow"}.get(action.status, "green")
    console.print(f"[{colour}]{escape(action.line())}[/]", highlight=False, soft_wrap=True)


def _summary(actions: list[Action], dry_run: bool) -> None:
    changed = sum(a.changed for a in actions)
    tail = " (dry run: nothing was changed)" if dry_run else ""
    console.print(f"{changed} to change, {len(actions) - changed} unchanged or skipped{tail}")


@app.callback(invoke_without_command=True)
def install(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The hall's config to install as /etc/hall-edge/hall.toml (default: keep "
            "the installed one, or write a commented example).",
        ),
    ] = None,
    root: ROOT_OPTION = Path("/"),
    dry_run: DRY_RUN = False,
) -> None:
    """Install or update the hub: user, folders, config, broker, units, udev rules, command."""
    layout = _layout(root)
    cfg: HubConfig | None
    if config is not None:
        cfg = _checked(load_config(config))
        text = config.read_text()

        def config_text() -> str:
            return text

    elif layout.config.exists():
        cfg = _checked(load_config(layout.config))

        def config_text() -> str:
            return layout.config.read_text()

    else:
        cfg = None
        example = files.example_config(layout)

        def config_text() -> str:
            return example

    actions = install_actions(layout, cfg, config_text, keep_config=config is None)
    try:
        execute(actions, dry_run=dry_run, say=_say)
        if not dry_run:
            # The installed copy, as the hub will read it (relative paths now from /etc).
            cfg = _checked(load_config(layout.config))
        notes = [] if cfg is None else [*writable_notes(cfg, layout), *udev_rules(cfg).notes]
    except ConfigError as exc:
        fail(str(exc))
    except EdgeError as exc:
        fail(str(exc), code=1)
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    _summary(actions, dry_run)
    if not dry_run and any(a.changed for a in actions):
        console.print(
            f"Device and screen passwords: {layout.broker_secrets} (root only). "
            f"Next: hall-edge config check {layout.config}",
            highlight=False,
        )


@uninstall_app.callback(invoke_without_command=True)
def uninstall(
    root: ROOT_OPTION = Path("/"),
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Also remove the config, the journal, the face vault and key, the broker's "
            "queue and the system user.",
        ),
    ] = False,
    dry_run: DRY_RUN = False,
) -> None:
    """Stop the hub and remove what install made; the config, journal and vault stay."""
    if not root.is_dir():
        fail(f"{root}: expected the folder of an installed box (--root); there is none")
    layout = _layout(root)
    actions = uninstall_actions(layout, purge=purge)
    try:
        execute(actions, dry_run=dry_run, say=_say)
    except EdgeError as exc:
        fail(str(exc), code=1)
    _summary(actions, dry_run)


@broker_app.command("sync")
def broker_sync(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The hub config (default: the installed one)."),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Also print the device and screen passwords.")
    ] = False,
    root: ROOT_OPTION = Path("/"),
    dry_run: DRY_RUN = False,
) -> None:
    """Accounts and ACL of the hall broker from the config; reloads the broker."""
    layout = _layout(root)
    cfg = _checked(load_config(config or layout.config))
    try:
        result = sync(cfg, layout, dry_run=dry_run)
        reloaded = (
            reload_broker(layout, dry_run=dry_run)
            if result.changed
            else "broker: nothing to reload"
        )
    except ConfigError as exc:
        fail(str(exc))
    except EdgeError as exc:
        fail(str(exc), code=1)
    verb = "would " if dry_run else ""
    for label, users in (
        ("created", result.created),
        ("password changed (hall.toml)", result.rehashed),
        ("removed", result.removed),
        ("unchanged", result.kept),
    ):
        if users:
            console.print(f"{verb}{label}: {', '.join(users)}", highlight=False)
    console.print(reloaded, highlight=False)
    if not dry_run:
        console.print(f"passwords for the installer: {layout.broker_secrets} (root only)")
    if show:
        for user, password in sorted(result.passwords.items()):
            console.print(f"{user} {password}", highlight=False, markup=False)


__all__ = ["app", "broker_app", "uninstall_app"]
