"""`hall-edge doctor`: what is wrong with this box, one line per check, each with a fix.

Every check is a small function of a `Context` returning one `Check` (or a few: one per
serial device, per certificate). Checks never change anything and never log in with an
identity that is in use: the hall broker binds client ids to user names, so a login as the
hub would take the running hub's connection over (see hall_broker.py).
"""

from edge.doctor.context import Context
from edge.doctor.result import Check, Level
from edge.doctor.runner import run_checks

__all__ = ["Check", "Context", "Level", "run_checks"]
