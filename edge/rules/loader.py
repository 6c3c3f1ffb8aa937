"""Rule files (YAML) -> a validated, compiled RuleSet; every error names file, line and rule.

Reading goes through PyYAML's composer so that the node tree (with line marks) and the
plain data come from one parse: structural errors from msgspec carry a path
(`rules[2].trigger.events`), which is walked down the node tree to find the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import yaml

from edge.config.schema import translate
from edge.errors import ConfigError
from edge.rules.compile import PARAMS_FILE, Compiler, RuleError, merge_params
from edge.rules.ruleset import RuleSet
from edge.rules.schema import RuleFileSpec

DEFAULT_PACK = Path(__file__).parent / "default"
_KEY_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class RuleFile:
    """One parsed rule file: its name, node tree (for lines), plain data and typed spec."""

    name: str
    node: yaml.Node | None
    data: dict[str, Any]
    spec: RuleFileSpec

    def line(self, tokens: Sequence[str | int]) -> int:
        """The 1-based line of the value at `tokens`, or of its nearest existing parent."""
        node = self.node
        if node is None:
            return 1
        for tok in tokens:
            child = _child(node, tok)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    def label(self, tokens: Sequence[str | int]) -> str:
        """`line 12: rule low-rating: when` for the value at `tokens`."""
        where = f"line {self.line(tokens)}"
        if len(tokens) >= 2 and tokens[0] in ("rules", "windows") and isinstance(tokens[1], int):
            items = self.data.get(str(tokens[0]))
            item = items[tokens[1]] if isinstance(items, list) and tokens[1] < len(items) else None
            ident = item.get("id") if isinstance(item, dict) else None
            kind = "rule" if tokens[0] == "rules" else "window"
            rest = _dotted(tokens[2:])
            head = f"{where}: {kind} {ident if ident else f'#{tokens[1] + 1}'}"
            return f"{head}: {rest}" if rest else head
        rest = _dotted(tokens)
        return f"{where}: {rest}" if rest else where


def _child(node: yaml.Node, tok: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(tok):
                return value  # type: ignore[no-any-return]
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(tok, int) and tok < len(node.value):
        return node.value[tok]  # type: ignore[no-any-return]
    return None


def _dotted(tokens: Sequence[str | int]) -> str:
    out = ""
    for tok in tokens:
        out += f"[{tok}]" if isinstance(tok, int) else (f".{tok}" if out else tok)
    return out


def _tokens(key: str) -> list[str | int]:
    return [int(i) if i else name for name, i in _KEY_TOKEN.findall(key)]


def read_rule_file(path: Path) -> RuleFile:
    """Parse and structurally validate one rule file (no compilation yet)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(name, "", "UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(name, "", "a readable rule file", exc.strerror) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(name, where, f"valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(name, "", f"valid YAML ({exc})") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            name, "line 1", "a mapping with params, windows and rules", type(data).__name__
        )
    raw = RuleFile(name, node, data, RuleFileSpec())
    try:
        spec = msgspec.convert(data, RuleFileSpec, str_keys=True)
    except msgspec.ValidationError as exc:
        err = translate(exc, name)
        raise ConfigError(name, raw.label(_tokens(err.key)), err.expected) from None
    return RuleFile(name, node, data, spec)


def rule_files(paths: Sequence[Path], builtin: bool = True) -> list[Path]:
    """The rule files to load, in order: the default pack, then each path (folders sorted)."""
    found: list[Path] = []
    if builtin:
        found.extend(sorted(DEFAULT_PACK.glob("*.yaml")))
    for p in paths:
        if p.is_dir():
            found.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        elif p.is_file():
            found.append(p)
        else:
            raise ConfigError(str(p), "", "an existing rule file or folder")
    unique: list[Path] = []
    seen: set[Path] = set()
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def load_ruleset(paths: Sequence[Path], params: Mapping[str, Any], builtin: bool = True) -> RuleSet:
    """Load, validate and compile the rule files; ConfigError naming file, line and rule id.

    `params` overrides the parameters declared by the files (`[rules.params]` of the hub
    config); the default pack is included when `builtin` is true.
    """
    files = [read_rule_file(p) for p in rule_files(paths, builtin)]
    merged = _declared_params(files)
    merged = merge_params(merged, params)
    compiler = Compiler(MappingProxyType(merged))
    for rf in files:
        for i, win in enumerate(rf.spec.windows):
            compiler.declare_window(win.id, rf.name, rf.line(["windows", i]))
    for rf in files:
        try:
            for i, win in enumerate(rf.spec.windows):
                compiler.add_window(win, rf.name, ["windows", i], rf.line(["windows", i]))
            for i, rule in enumerate(rf.spec.rules):
                compiler.add_rule(rule, rf.name, ["rules", i], rf.line(["rules", i]))
        except RuleError as exc:
            raise ConfigError(rf.name, rf.label(exc.tokens), exc.expected, exc.got) from None
    return compiler.result(tuple(rf.name for rf in files))


def _declared_params(files: Sequence[RuleFile]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    where: dict[str, str] = {}
    for rf in files:
        for key, value in rf.spec.params.items():
            if key in merged:
                raise ConfigError(
                    rf.name,
                    rf.label(["params", key]),
                    f"a parameter declared by one file only (already declared in {where[key]})",
                )
            if not key.isidentifier() or key.startswith("_"):
                raise ConfigError(
                    rf.name, rf.label(["params", key]), "a parameter name like waiting_threshold"
                )
            merged[key] = value
            where[key] = rf.name
    return merged


__all__ = [
    "DEFAULT_PACK",
    "PARAMS_FILE",
    "RuleFile",
    "load_ruleset",
    "read_rule_file",
    "rule_files",
]
