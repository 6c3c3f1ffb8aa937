"""`hall-edge demo`: a whole simulated hall through the hub to a local cloud broker.

What runs, in order (runner.py), and is stopped in reverse, the brokers last and always:
two private Mosquitto brokers on free loopback ports (brokers.py) → pty pairs for the
serial devices (edge.sim.hall_links) → the demo hall's hall.toml (config.py) → a cloud
watcher subscribed to `halls/{hall}/#` (watch.py, tally.py) → the real hub, in-process
(edge.hub.build) → every simulated device (edge.sim.hall_day) and a simulated cloud
platform sending commands (cloud_platform.py) → the live dashboard (view.py) → the
closing summary (summary.py).

Decisions, where the brief left them open:
- The simulated devices and the hub share one clock, the hall day's (edge/clock.py): events
  are stamped in simulated time, so waits and KPIs come out in hall minutes.
- Face recognition stays off: no camera is simulated and dlib would slow the start.
- Each run starts with an empty journal: simulated devices number their requests from 1
  again, and the journal would drop them as repeats. A --workdir holding a journal the
  demo did not make is refused, never emptied.
- The cloud platform sends tickets (queue.issue), invoices, robot announcements and
  status queries, so the dashboard shows the command path and the hub's reply codes.
"""
