"""One owner per hall screen and voice: the queue manager or the rules, never both.

The queue manager sends `display.show_call` to every counter's `displays` and to `[queue]
displays`, and `voice.announce` to `[queue] voices`; the default rule `call-announce` sends
the same commands to `[rules.params] hall_screens` / `hall_voice` (device groups by
default). A device reached both ways shows and speaks every call twice, so the config check
refuses it, naming both keys.
"""

from __future__ import annotations

from edge.config import HubConfig
from edge.errors import ConfigError
from edge.rules.actions import CommandAction
from edge.rules.ruleset import RuleSet
from edge.rules.templates import TemplateError

# The commands both the queue manager and a rule may send for one call.
_ANNOUNCING = ("display.show_call", "voice.announce")


def queue_targets(cfg: HubConfig) -> dict[str, list[tuple[str, str]]]:
    """Per command: (config key, device id) of every device the queue manager sends it to."""
    q = cfg.queue
    shows = [
        (f"queue.counters[{i}].displays[{j}]", d)
        for i, c in enumerate(q.counters)
        for j, d in enumerate(c.displays)
    ]
    shows += [(f"queue.displays[{j}]", d) for j, d in enumerate(q.displays)]
    voices = [(f"queue.voices[{j}]", d) for j, d in enumerate(q.voices)]
    return {"display.show_call": shows, "voice.announce": voices}


def _rule_targets(cfg: HubConfig, target: str) -> dict[str, str]:
    """Device id -> how the rule's target reaches it (for the message)."""
    if target.startswith("group:"):
        group = target.removeprefix("group:")
        return {
            d.id: f"devices[{i}] ({d.id}).group = {group!r}"
            for i, d in enumerate(cfg.devices)
            if d.group == group
        }
    return {target: f"the device id {target!r}"}


def check_one_announcer(cfg: HubConfig, rules: RuleSet) -> None:
    """ConfigError if a device gets a call's screen or voice command from both sides."""
    if not (cfg.queue.enabled and cfg.queue.services):
        return
    by_queue = queue_targets(cfg)
    for rule in rules.rules:
        for action in rule.actions:
            if not isinstance(action, CommandAction) or action.name not in _ANNOUNCING:
                continue
            try:
                # Only targets fixed by the params can be known before a call is made.
                target = action.device.render({"params": rules.params})
            except TemplateError:
                continue
            reached = _rule_targets(cfg, target)
            source = action.device.source.strip()
            via = (
                f"[rules.params] {source[len('{params.') : -1]} = {target!r}"
                if source.startswith("{params.") and source.endswith("}")
                else f"device {target!r}"
            )
            for key, device_id in by_queue[action.name]:
                if device_id in reached:
                    raise ConfigError(
                        cfg.source,
                        key,
                        f"a device the rule {rule.id} ({rule.file}:{rule.line}) does not "
                        f"also send {action.name}: it reaches {device_id!r} through {via} "
                        f"and {reached[device_id]}, so every call would be announced twice "
                        "(drive it from [queue] or from the rule, not both)",
                        device_id,
                    )
