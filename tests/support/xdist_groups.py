"""How the suite is split between xdist workers (`./hall test` runs two): module by module.

A module goes to one worker whole, its tests in file order, so a module-scoped fixture (one
hub or broker for the module, its state carried from test to test) is made once, as in a
run without xdist. The modules whose tests take the `cluster` fixture go to one worker
together: the session's one RabbitMQ devcluster, started twice, would cost its ~20 s start
and its six Erlang nodes' memory again, and two clusters starting at once on the 2-core
machine failed to join (rabbit_mnesia:join_cluster, once in two runs).

xdist's own `--dist loadgroup` would do the latter from an `xdist_group` mark, but with
pytest 9.2 it no longer groups (pytest-xdist issue #1386: it marks a node id pytest no
longer reads), hence a scheduler of our own. It sees node ids only, not the tests, so it
reads each module's source for a test taking `cluster`.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

ROOT = Path(__file__).resolve().parents[2]
DEVCLUSTER = "devcluster"
CLUSTER_FIXTURE = "cluster"


@functools.cache
def takes_the_cluster(module: str) -> bool:
    """True when a test (or fixture) of the module at `module` (relative to the checkout)
    takes the `cluster` fixture."""
    path = ROOT / module
    if path.suffix != ".py" or not path.is_file():
        return False
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        arg.arg == CLUSTER_FIXTURE
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for arg in node.args.args
    )


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, or the devcluster's group."""
    module = nodeid.split("::", 1)[0]
    return DEVCLUSTER if takes_the_cluster(module) else module


class ModuleGroups(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no type hints
    """xdist's scope scheduler with `scope_of` for scopes (its own: the module, or the
    class within it)."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)
