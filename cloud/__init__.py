"""hall-cloud: the reference consumer of what the halls' hubs send to the utility's cloud.

It runs in the data centre, not on the hub: it may import `edge.envelope` (the envelope's
types) and `edge.errors`, nothing of the hub's runtime (an import-linter contract says so).
"""
