"""Keys handled one after the other, whatever the speed they arrive at (``OrderedKeys``).

Textual handles a key in two places: the app first checks its priority bindings (Enter = Next
and F2 = Back of a wizard step are), then forwards the key to the focused widget's own queue;
the widget's handling and the other bindings come later, when the key bubbles back up to the
app. A key arriving before the previous one made that trip overtakes it: in a burst (a slow
SSH link delivers keys so) "2020 Enter" ran Next before the field held 2020, "Space Down
Space" ticked the wrong rows, a letter typed after Tab landed in the field Tab left.

``OrderedKeys`` holds each key the terminal sends until the previous one has been handled all
the way: a callback sent after the key along its route (the widget it went to, each parent,
the app, then the same route again behind what the key sent on its way) comes back to the
app, which then lets the next key in. Keys typed slowly meet no
wait. If the route breaks (the screen was closed by the key), a watchdog lets the next key
in after ``KEY_WATCHDOG`` seconds, so a key is never stuck.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.timer import Timer

KEY_WATCHDOG = 1.0


class OrderedKeys(App[Any]):
    """An App whose keys from the terminal are handled in order, one at a time."""

    _keys_waiting: deque[events.Key]
    _key_token: int | None = None
    _key_serial: int = 0
    _key_watchdog: Timer | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if not hasattr(self, "_keys_waiting"):
                self._keys_waiting = deque()
            if self._key_token is not None or self._keys_waiting:
                self._keys_waiting.append(event)
                return
            await self._send_key(event)
            return
        await super().on_event(event)

    async def _send_key(self, event: events.Key) -> None:
        self._key_serial += 1
        token = self._key_token = self._key_serial
        try:
            target: MessagePump = self.focused or self.screen
        except Exception:  # noqa: BLE001 - no screen yet (starting, ending): Textual's own way
            self._key_done(token)
            await super().on_event(event)
            return
        await super().on_event(event)
        route: list[MessagePump] = []
        if self._on_current_screen(target):
            node: MessagePump | None = target
            while node is not None and node is not self:
                route.append(node)
                node = node._parent
        route.append(self)
        # Twice: the second time behind what the key itself sent on its way (the filter a
        # letter goes to, a tick's message to the screen).
        route += route
        self._key_watchdog = self.set_timer(KEY_WATCHDOG, lambda: self._key_done(token))
        self._key_hop(token, route)

    def _on_current_screen(self, node: MessagePump) -> bool:
        try:
            return node is self.screen or getattr(node, "screen", None) is self.screen
        except Exception:  # noqa: BLE001 - a widget already removed has no screen
            return False

    def _key_hop(self, token: int, route: Sequence[MessagePump]) -> None:
        """Go one step further along the key's route, behind the key in each queue."""
        if token != self._key_token:
            return
        for index, node in enumerate(route):
            if node.call_later(self._key_hop, token, route[index + 1:]):
                return
        self._key_done(token)

    def _key_done(self, token: int) -> None:
        if token != self._key_token:
            return
        self._key_token = None
        if self._key_watchdog is not None:
            self._key_watchdog.stop()
            self._key_watchdog = None
        if self._keys_waiting:
            self._key_token = 0  # the next key goes first: later ones keep waiting behind it
            self.call_later(self._send_next)

    async def _send_next(self) -> None:
        self._key_token = None
        if self._keys_waiting:
            await self._send_key(self._keys_waiting.popleft())
