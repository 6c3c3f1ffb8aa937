"""Message and argument templates: str.format placeholders restricted to field lookups.

`"请{data.ticket_no}号到{data.counter}号窗口办理业务"` reads fields of the event, of the
rule's `vars` and of `params`. Placeholders may index mappings and lists
(`{params.service_names[payment]}`, `{data.items[0]}`) and carry a format spec
(`{avg_level:.1f}`, `{time:%H:%M}`), but never read attributes or call anything: the
lookup walks mappings and sequences only. Templates are split once at load.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge.errors import EdgeError

_FIELD = re.compile(r"^[A-Za-z]\w*(?:\.[A-Za-z]\w*|\[[^\]\[{}]+\])*$")
_PART = re.compile(r"\.([A-Za-z]\w*)|\[([^\]]+)\]")


class TemplateError(EdgeError, ValueError):
    """A template is not acceptable (at load) or cannot be filled (at run time)."""


class FieldFormatter(string.Formatter):
    """A Formatter whose field lookup only walks mappings and sequences."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """Resolve `data.counter` or `params.names[payment]` in `kwargs`; no attributes."""
        return lookup(split_field(field_name), kwargs), field_name


_FORMATTER = FieldFormatter()


def split_field(field_name: str) -> tuple[str, ...]:
    """`params.names[payment]` -> ("params", "names", "payment"); TemplateError if malformed."""
    if not _FIELD.match(field_name):
        raise TemplateError(
            f"a field like data.counter or params.names[payment], not {{{field_name}}}"
        )
    head = field_name.split(".", 1)[0].split("[", 1)[0]
    rest = field_name[len(head) :]
    parts = [head] + [a or b for a, b in _PART.findall(rest)]
    if any(p.startswith("_") for p in parts):
        raise TemplateError(f"no field starting with '_' in {{{field_name}}}")
    return tuple(parts)


def lookup(path: Sequence[str], root: Mapping[str, Any]) -> Any:
    """Walk `path` through mappings (by key) and lists (by index)."""
    value: Any = root
    for i, part in enumerate(path):
        if type(value) is dict and part in value:
            value = value[part]  # the usual case, kept short
            continue
        if isinstance(value, Mapping):
            if part in value:
                value = value[part]
                continue
            if part.lstrip("-").isdigit() and int(part) in value:
                value = value[int(part)]
                continue
        elif isinstance(value, list | tuple) and part.lstrip("-").isdigit():
            index = int(part)
            if -len(value) <= index < len(value):
                value = value[index]
                continue
        where = ".".join(path[:i]) or "the event"
        raise TemplateError(f"no field '{part}' in {where}")
    return value


@dataclass(frozen=True, slots=True)
class _Field:
    path: tuple[str, ...]
    conversion: str | None
    spec: str

    @property
    def plain(self) -> bool:
        return self.conversion is None and not self.spec


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """A split template; `render` fills it from a mapping of names."""

    source: str
    parts: tuple[str | _Field, ...]
    # The one placeholder of a template that is nothing else ("{data.counter}"): its
    # value keeps its type in command arguments and emitted data.
    single: _Field | None = None

    @property
    def fields(self) -> tuple[tuple[str, ...], ...]:
        """The field paths this template reads (for load-time checks)."""
        return tuple(p.path for p in self.parts if isinstance(p, _Field))

    def render(self, names: Mapping[str, Any]) -> str:
        """The filled text; TemplateError naming the missing field or bad format."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = lookup(part.path, names)
            out.append(value if type(value) is str and part.plain else _format(part, value))
        return "".join(out)

    def value(self, names: Mapping[str, Any]) -> Any:
        """Like render, but a template that is exactly one placeholder keeps the value's type."""
        if self.single is not None:
            return lookup(self.single.path, names)
        return self.render(names)


def _format(field: _Field, value: Any) -> str:
    try:
        if field.conversion is not None:
            value = _FORMATTER.convert_field(value, field.conversion)
        return format(value, field.spec)  # what Formatter.format_field does
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"cannot format {value!r} with '{field.spec}': {exc}") from None


def compile_template(text: str) -> Template:
    """Split `text` once; TemplateError on a malformed placeholder."""
    parts: list[str | _Field] = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise TemplateError(
            f"balanced {{placeholders}} ({exc}; write {{{{ for a literal {{)"
        ) from None
    for literal, field_name, spec, conversion in parsed:
        if literal:
            parts.append(literal)
        if field_name is None:
            continue
        if not field_name:
            raise TemplateError("a named placeholder like {data.counter}, not {}")
        if spec and ("{" in spec or "}" in spec):
            raise TemplateError(f"no nested placeholder in the format spec of {{{field_name}}}")
        if conversion not in (None, "s", "r", "a"):
            raise TemplateError(f"a conversion !s, !r or !a, not !{conversion}")
        parts.append(_Field(split_field(field_name), conversion, spec or ""))
    only = parts[0] if len(parts) == 1 else None
    single = only if isinstance(only, _Field) and only.plain else None
    return Template(source=text, parts=tuple(parts), single=single)


def compile_value(value: Any) -> Any:
    """Compile every string inside a YAML value (dicts and lists walked) into a Template."""
    if isinstance(value, str):
        return compile_template(value)
    if isinstance(value, dict):
        return {str(k): compile_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_value(v) for v in value]
    return value


def render_value(value: Any, names: Mapping[str, Any]) -> Any:
    """Fill a compiled value: templates filled (one-placeholder ones keep their type)."""
    kind = value.__class__
    if kind is Template:
        return value.value(names)
    if kind is dict:
        return {k: render_value(v, names) for k, v in value.items()}
    if kind is list:
        return [render_value(v, names) for v in value]
    return value


def templates_in(value: Any) -> list[Template]:
    """Every Template inside a compiled value."""
    if isinstance(value, Template):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in templates_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in templates_in(v)]
    return []
