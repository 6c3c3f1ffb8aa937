"""`hall-edge demo`: a whole simulated hall through the hub to a local cloud broker."""
