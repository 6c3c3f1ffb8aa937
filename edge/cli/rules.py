"""`hall-edge rules`: check rule files, try them on events, read the traces of a hall's rules."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from edge.cli.hub_run import err_line
from edge.cli.listing import FORMAT_OPTION, Column, Format, show
from edge.config import HubConfig, load
from edge.errors import ConfigError, EdgeError, PayloadError, StoreError
from edge.model import Command, Event
from edge.rules.dryrun import DryRunStep, dry_run, parse_test_events
from edge.rules.engine import RuleEngine
from edge.rules.hubconfig import device_groups, rule_paths
from edge.rules.loader import load_ruleset
from edge.rules.ruleset import RuleSet
from edge.store import open_reader

app = typer.Typer(
    help="The hall's rules: check rule files, test them on events, show what rules did.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Hub config: its rule files and params, device groups and time zone are used.",
    ),
]
BuiltinOption = Annotated[
    bool | None,
    typer.Option(
        "--builtin/--no-builtin",
        help="Include the shipped default pack (default: as the config says, else only "
        "when no FILE is given).",
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_line(message)
    return typer.Exit(code)


def _out() -> Console:
    return Console(soft_wrap=True)


def _ruleset(
    files: list[Path], config: Path | None, builtin: bool | None
) -> tuple[RuleSet, HubConfig | None]:
    cfg = load(config) if config is not None else None
    paths = list(files)
    params: dict[str, Any] = {}
    if cfg is not None:
        paths = rule_paths(cfg) + paths
        params = dict(cfg.rules.params)
        use_builtin = cfg.rules.builtin if builtin is None else builtin
    else:
        use_builtin = (not files) if builtin is None else builtin
    return load_ruleset(paths, params, use_builtin), cfg


@app.command("check")
def check(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rule files or folders to check.")
    ] = None,
    config: ConfigOption = None,
    builtin: BuiltinOption = None,
) -> None:
    """Validate rule files: structure, conditions, templates, params; errors name file and line."""
    try:
        ruleset, _ = _ruleset(files or [], config, builtin)
    except EdgeError as exc:
        raise _fail(str(exc)) from None
    out = _out()
    out.print(
        f"[green]OK[/green] {len(ruleset.rules)} rules, {len(ruleset.windows)} windows, "
        f"{len(ruleset.params)} params from {len(ruleset.files)} files"
    )
    for rule in ruleset.rules:
        out.print(f"  {rule.id}: {rule.description}", highlight=False)


@app.command("test")
def test(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rule files or folders to test.")
    ] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            "-e",
            help='An event as JSON: {"type": "rating.submitted", "device_id": "pad-3", '
            '"data": {...}, "time": "RFC 3339"}. Repeat for several.',
        ),
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option("--events", help="A file of events, one JSON object per line (JSONL)."),
    ] = None,
    advance: Annotated[
        str | None,
        typer.Option(
            "--advance",
            help="After the last event, let this much time pass (e.g. 11m) and show what "
            "fires then: debounced rules such as device-offline.",
        ),
    ] = None,
    config: ConfigOption = None,
    builtin: BuiltinOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: one object per event (or tick).")
    ] = False,
) -> None:
    """Show which rules fire on the events and what they would do; nothing is sent or kept."""
    from edge.rules.schedules import parse_duration  # noqa: PLC0415 - small, only here

    try:
        ruleset, cfg = _ruleset(files or [], config, builtin)
        raw = _read_events(event or [], events)
        tz = ZoneInfo(cfg.hall.timezone) if cfg is not None else ZoneInfo("Asia/Shanghai")
        start = datetime.now(tz).replace(microsecond=0)
        parsed = parse_test_events(raw, start)
        advance_s = 0.0
        if advance is not None:
            try:
                advance_s = parse_duration(advance)
            except ValueError as exc:
                raise ConfigError("--advance", "", str(exc), advance) from None
        groups = device_groups(cfg) if cfg is not None else None
        steps = dry_run(ruleset, parsed, tz, groups, advance_s)
    except EdgeError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        for step in steps:  # JSON lines: one step per line
            typer.echo(json.dumps(_step_json(step), ensure_ascii=False))
        return
    _print_steps(steps)


def _read_events(inline: list[str], path: Path | None) -> list[Any]:
    items: list[Any] = []
    for i, text in enumerate(inline, start=1):
        try:
            items.append(json.loads(text))
        except json.JSONDecodeError as exc:
            raise PayloadError(
                f"--event #{i}", f"not JSON: {exc.msg} at column {exc.colno}"
            ) from None
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise PayloadError(str(path), f"cannot read the events file: {exc}") from None
        for n, line in enumerate(lines, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise PayloadError(f"{path}: line {n}", f"not JSON: {exc.msg}") from None
    if not items:
        raise PayloadError("rules test", "give at least one --event JSON or --events FILE")
    return items


def _action_text(action: dict[str, Any]) -> str:
    kind = action.get("action", "?")
    if "error" in action:
        return f"{kind} FAILED: {action['error']}"
    if kind == "command":
        targets = ",".join(action.get("targets") or [str(action.get("device"))])
        args = json.dumps(action.get("args"), ensure_ascii=False)
        text = f"command {action.get('name')} → {targets} {args}"
        return text + (f" (not sent: {action['skipped']})" if "skipped" in action else "")
    if kind == "alert":
        return f"alert [{action.get('severity')}] {action.get('message')}"
    if kind == "emit":
        return f"emit {action.get('type')} {json.dumps(action.get('data'), ensure_ascii=False)}"
    if kind == "state":
        if "unset" in action:
            return f"state unset {action['unset']}"
        return f"state {action.get('set')} = {action.get('value')!r}"
    return str(kind)


def _firing_row(rule_id: str, entry: dict[str, Any]) -> tuple[str, str, str, str]:
    values = entry.get("values") or {}
    shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
    lines = [_action_text(a) for a in entry.get("actions", [])]
    lines += [f"error: {e}" for e in entry.get("errors", []) if not any(e in x for x in lines)]
    return rule_id, str(entry.get("result", "")), shown, "\n".join(lines)


def _print_steps(steps: list[DryRunStep]) -> None:
    out = _out()
    if not steps:
        out.print("no events")
    for step in steps:
        if step.event is None:
            head = f"[bold]tick {step.at.isoformat()}[/bold]"
        else:
            ev = step.event
            verdict = "forward" if step.forward else "[yellow]drop[/yellow]"
            head = (
                f"[bold]#{ev.seq} {escape(ev.type)}[/bold] from {escape(ev.device_id)} "
                f"at {ev.time.isoformat()} → {verdict}"
            )
        out.print(head, highlight=False)
        if not step.firings:
            out.print("  no rule fired", style="dim")
            continue
        table = Table(show_header=True, header_style="bold", expand=False)
        for column in ("rule", "result", "values", "actions"):
            table.add_column(column, overflow="fold")
        for rule_id, entry in step.firings:
            table.add_row(*(Text(cell) for cell in _firing_row(rule_id, entry)))
        out.print(table)


def _step_json(step: DryRunStep) -> dict[str, Any]:
    ev = step.event
    return {
        "event": None
        if ev is None
        else {
            "seq": ev.seq,
            "type": ev.type,
            "device_id": ev.device_id,
            "time": ev.time.isoformat(),
            "data": dict(ev.data),
        },
        "at": step.at.isoformat(),
        "forward": step.forward,
        "outputs": [_output_json(o) for o in step.outputs],
        "firings": [{"rule": rid, **entry} for rid, entry in step.firings],
    }


def _output_json(out: Command | Event) -> dict[str, Any]:
    if isinstance(out, Command):
        return {
            "command": out.name,
            "device_id": out.device_id,
            "args": dict(out.args),
            "origin": out.origin,
        }
    return {
        "event": out.type,
        "device_id": out.device_id,
        "data": dict(out.data),
        "causation": out.causation,
    }


def read_state_blob(cfg: HubConfig) -> bytes | None:
    """The engine state the hub saved in the journal (read-only), or None if none yet."""
    reader = open_reader(cfg)
    try:
        return reader.rule_state()
    except sqlite3.Error as exc:
        raise StoreError(f"{reader.path}: cannot read rule_state: {exc}") from None
    finally:
        reader.close()


@app.command("trace")
def trace(
    rule: Annotated[str, typer.Argument(help="Rule id, e.g. rating-low (or window:ID, engine).")],
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="Hub config naming the journal DB (store path)."),
    ] = Path("hall.toml"),
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="Show at most this many, newest last.")
    ] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: one object per firing, oldest first.")
    ] = False,
    fmt: FORMAT_OPTION = Format.table,
) -> None:
    """Show the last firings of a rule as the hub saved them: event, values, actions, errors."""
    ruleset, engine = _saved_engine(config, limit)
    known = (
        {r.id for r in ruleset.rules}
        | {f"window:{w.id}" for w in ruleset.windows}
        | {"engine"}
        | set(engine.traced_ids())
    )
    if rule not in known:
        rule_ids = ", ".join(sorted(r.id for r in ruleset.rules)) or "none"
        raise _fail(f"unknown rule {rule}: expected a rule id of this hall ({rule_ids})", 1)
    entries = engine.traces(rule)[-limit:] if limit > 0 else []
    if as_json or fmt is Format.json:
        for entry in entries:  # JSON lines: one firing per line, as the hub saved it
            typer.echo(json.dumps(entry, ensure_ascii=False))
        return
    if not entries and fmt is Format.table:
        _out().print(f"no firings recorded for {rule} yet", highlight=False)
        return
    show(
        fmt,
        TRACE_COLUMNS,
        [_trace_row(rule, e) for e in entries],
        title=f"{rule}: last {len(entries)} firings",
    )


TRACE_COLUMNS = [
    Column("at", keep=True),
    Column("event"),
    Column("result"),
    Column("values", drop=1),
    Column("actions", "actions / errors"),
]


def _saved_engine(config: Path, limit: int) -> tuple[RuleSet, RuleEngine]:
    """The hall's rules and an engine holding the state (and traces) the hub saved."""
    try:
        cfg = load(config)
        ruleset = _ruleset([], config, None)[0] if cfg.rules.enabled else RuleSet.empty()
        tz = ZoneInfo(cfg.hall.timezone)
        blob = read_state_blob(cfg)
        engine = RuleEngine(
            RuleSet.empty(), tz, {}, trace_depth=max(cfg.rules.trace_depth, limit, 1)
        )
        if blob is not None:
            engine.load_state(blob)
    except EdgeError as exc:
        raise _fail(str(exc)) from None
    return ruleset, engine


def _trace_row(rule: str, entry: dict[str, Any]) -> dict[str, Any]:
    ev = entry.get("event") or {}
    event_text = " ".join(str(ev[k]) for k in ("seq", "type", "device_id") if ev.get(k) is not None)
    _, result, values, actions = _firing_row(rule, entry)
    at = str(entry.get("at", ""))
    return {"at": at, "event": event_text, "result": result, "values": values, "actions": actions}
