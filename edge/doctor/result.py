"""One check's outcome, as a line for people and as a JSON object for scripts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

Level = Literal["ok", "warn", "fail"]

MARKS: dict[Level, str] = {"ok": "✓", "warn": "!", "fail": "✗"}


@dataclass(frozen=True, slots=True)
class Check:
    """`name` is stable (scripts match on it); `detail` says what was found; `hint` the fix."""

    name: str
    level: Level
    detail: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        """False only for ✗: a warning does not fail the doctor."""
        return self.level != "fail"

    def line(self) -> str:
        text = f"{MARKS[self.level]} {self.name}: {self.detail}"
        if self.hint and self.level != "ok":
            text += f" (fix: {self.hint})"
        return text

    def json(self) -> str:
        return msgspec.json.encode(
            {
                "name": self.name,
                "ok": self.ok,
                "level": self.level,
                "detail": self.detail,
                "hint": self.hint,
            }
        ).decode()


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, "warn", detail, hint)


def fail(name: str, detail: str, hint: str) -> Check:
    return Check(name, "fail", detail, hint)
