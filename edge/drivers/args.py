"""Checking a command's arguments against its profile's `args:` before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.drivers.profile_schema import ArgSpec
from edge.errors import CommandError
from edge.model import BAD_ARGS

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def _check(name: str, spec: ArgSpec, value: Any) -> Any:
    # JSON has one number type: 20.0 from a cloud system or a float setting is the int 20.
    if spec.type == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if spec.type != "any":
        ok = isinstance(value, _TYPES[spec.type]) and not (
            spec.type in ("int", "float") and isinstance(value, bool)
        )
        if not ok:
            raise CommandError(
                BAD_ARGS, f"argument {name} must be of type {spec.type}, got {value!r}"
            )
    if spec.choices is not None and value not in spec.choices:
        raise CommandError(
            BAD_ARGS, f"argument {name} must be one of {spec.choices}, got {value!r}"
        )
    if spec.min is not None and value < spec.min:
        raise CommandError(
            BAD_ARGS, f"argument {name} must be at least {spec.min:g}, got {value!r}"
        )
    if spec.max is not None and value > spec.max:
        raise CommandError(BAD_ARGS, f"argument {name} must be at most {spec.max:g}, got {value!r}")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise CommandError(BAD_ARGS, f"argument {name} is longer than {spec.max_length}")
    return value


def check_args(
    specs: Mapping[str, ArgSpec], given: Mapping[str, Any], command: str, extra: str = "reject"
) -> dict[str, Any]:
    """The arguments checked and completed with defaults; CommandError(400) naming the bad one.

    A text default may be a template over the other arguments, e.g. the announcement
    "请{ticket_no}号到{counter}号窗口" built from `ticket_no` and `counter`.
    """
    unknown = sorted(set(given) - set(specs))
    if unknown and extra == "reject":
        takes = ", ".join(specs) or "none"
        raise CommandError(
            BAD_ARGS, f"{command} takes no argument {', '.join(unknown)} (it takes: {takes})"
        )
    out: dict[str, Any] = {}
    templated: list[str] = []
    for name, spec in specs.items():
        value = given.get(name)
        if value is None:
            if spec.default is not None:
                if isinstance(spec.default, str) and "{" in spec.default:
                    templated.append(name)
                    continue
                out[name] = spec.default
            elif spec.required:
                raise CommandError(BAD_ARGS, f"{command} needs argument {name}")
            else:
                out[name] = None
            continue
        out[name] = _check(name, spec, value)
    for name in templated:
        try:
            out[name] = str(specs[name].default).format_map(out)
        except (KeyError, ValueError, IndexError) as exc:
            raise CommandError(BAD_ARGS, f"{command}: cannot make default {name}: {exc}") from None
    return out
