"""The hub: composition root and the parts that only it wires together."""
