"""The rules engine: YAML rules decide, for every journaled event, what happens next.

See docs/rules.md. The hub uses `load_ruleset` (or `hubconfig.engine_for`), `RuleEngine`,
`reload` and `RuleFilesWatcher`.
"""

from edge.rules.engine import Decision, RuleEngine, reload
from edge.rules.loader import load_ruleset
from edge.rules.ruleset import RuleSet
from edge.rules.watch import RuleFilesWatcher

__all__ = ["Decision", "RuleEngine", "RuleFilesWatcher", "RuleSet", "load_ruleset", "reload"]
