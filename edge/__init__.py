"""hall-edge: the edge hub of a power-utility customer service hall."""

__version__ = "0.1.0"
