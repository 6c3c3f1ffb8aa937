"""The [rules] section of the hub config: which rule files run, and the pack's parameters."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from edge.config.hub import Section


class RulesSection(Section, frozen=True, kw_only=True):
    enabled: bool = True  # False: no rules engine at all, every event is forwarded
    builtin: bool = True  # load the shipped default pack (edge/rules/default/*.yaml)
    # Extra rule files or folders (every *.yaml / *.yml in it), relative to the config file.
    paths: list[str] = msgspec.field(default_factory=list)
    # Overrides of parameters declared by the rule files, e.g. waiting_threshold = 8 or
    # wait_norm_min = {payment = 6}; names are checked against the loaded files.
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    watch: bool = True  # reload when a rule file changes (an invalid change keeps the old rules)
    trace_depth: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20  # firings kept per rule
