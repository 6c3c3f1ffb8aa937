"""Live updates for the console: the latest JSON of each view section, and Server-Sent
Events that carry each change to every open page.

A client holds no queue of its own: it remembers which version of each section it sent,
and on a change it sends the newest of those it is behind on. A slow or stalled page thus
costs the same memory as a fast one (a few integers) and skips states it was too slow for,
which is what a live view wants; the server's write timeout drops one that takes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

PING_S = 15.0


class Live:
    def __init__(self) -> None:
        self._sections: dict[str, tuple[int, bytes]] = {}
        self._version = 0
        self._changed = asyncio.Event()
        self.clients = 0

    def publish(self, section: str, data: bytes) -> None:
        """The section's new JSON; unchanged bytes are not sent again."""
        old = self._sections.get(section)
        if old is not None and old[1] == data:
            return
        self._version += 1
        self._sections[section] = (self._version, data)
        # Wake every waiting client once; each makes itself a new wait afterwards.
        self._changed.set()
        self._changed = asyncio.Event()

    def whole(self) -> bytes:
        """All sections as one JSON object (the first message of a stream)."""
        body = b",".join(b'"%s":%s' % (k.encode(), v) for k, (_, v) in self._sections.items())
        return b"{" + body + b"}"

    async def stream(self) -> AsyncIterator[bytes]:
        """One client's events: `state` (all), then `<section>` on each change."""
        self.clients += 1
        try:
            sent = {k: v for k, (v, _) in self._sections.items()}
            yield b"retry: 1000\nevent: state\ndata: " + self.whole() + b"\n\n"
            while True:
                # Behind on something: send it now. No await between this look and taking
                # `changed`, so a change made while the last write waited is never missed.
                out = []
                for name, (version, data) in self._sections.items():
                    if sent.get(name) != version:
                        sent[name] = version
                        out.append(b"event: %s\ndata: %s\n\n" % (name.encode(), data))
                if out:
                    yield b"".join(out)
                    continue
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), PING_S)
                except TimeoutError:
                    yield b": ping\n\n"
        finally:
            self.clients -= 1
