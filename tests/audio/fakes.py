"""Test doubles for the sound tests: a settable clock and sinks/ports that record what they get."""

from __future__ import annotations


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> float:
        self.t = round(self.t + dt, 9)
        return self.t


class ListSink:
    """A sink that keeps (clock time, event) pairs."""

    def __init__(self, clock=None, layout: str = "synth"):
        self.layout = layout
        self.name = "list sink"
        self.clock = clock
        self.got = []
        self.closed = False

    def send(self, events):
        for e in events:
            self.got.append((self.clock() if self.clock else 0.0, e))

    def preview_channel(self, is_drum):
        return 249 if is_drum else 255

    def close(self):
        self.closed = True

    @property
    def events(self):
        return [e for _, e in self.got]


class FakePort:
    """A mido-like port that keeps the messages sent to it."""

    def __init__(self, name="Fake Port"):
        self.name = name
        self.sent = []
        self.closed = False

    def send(self, message):
        self.sent.append(message)

    def close(self):
        self.closed = True
