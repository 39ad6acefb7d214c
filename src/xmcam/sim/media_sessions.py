"""A device's media sessions, sans I/O: the streams claimed on its connections, the media they
stream (clips, snapshot, recordings), and what the shell must start and stop.

The handlers (`media_commands.py`) add and stop claims; what the shell must do about them comes
out of `MediaSessions.take_actions()` as `StartStream` and `StopStream`, the way alarms come out
of `SimulatedDevice.take_pushes()`: the sans-I/O side decides, the shell (`streaming.py`) paces
and writes. Connections are named by their numbers and sessions by their ids, so nothing here
holds a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from xmcam.sim.media import LiveSource, MediaLibrary, Packetizer, StreamKind
from xmcam.sim.profile import Profile
from xmcam.sim.recordings import Catalogue, Recording, synthesised_catalogue
from xmcam.sim.state import DeviceState

__all__ = ["Claim", "MediaAction", "MediaSessions", "StartStream", "StopStream"]

_MAX_CLAIMS_PER_CONNECTION: Final = 16


@dataclass(eq=False)
class Claim:
    """A stream claimed on a connection: live (`stream`) or a download (`recording`)."""

    connection: int
    session: int
    channel: int
    stream: StreamKind | None = None
    recording: Recording | None = None
    started: bool = False


@dataclass(frozen=True, eq=False)
class StartStream:
    """Start writing a stream to the claim's connection: a live source, paced, or a file's
    bytes as fast as the socket takes them."""

    claim: Claim
    packetizer: Packetizer
    live: LiveSource | None = None
    packing: bool = False  # live frames packed together into packets (a quirk)
    data: bytes = b""
    end: str = "empty-flag"  # how a download ends (`Packetizer.whole`)


@dataclass(frozen=True, eq=False)
class StopStream:
    """Stop the claim's stream; with `close`, close the connection it flowed on too."""

    claim: Claim
    close: bool


MediaAction = StartStream | StopStream


class MediaSessions:
    """A device's claims and the media they stream: its clips, snapshot and recordings."""

    def __init__(self, profile: Profile, state: DeviceState) -> None:
        self._profile = profile
        self._state = state
        self.library = MediaLibrary(profile.media)
        self.claims: list[Claim] = []
        self._actions: list[MediaAction] = []
        self._catalogue: Catalogue | None = None
        self._made_for: date | None = None  # the day a made-up catalogue ends with
        self.formatted: set[tuple[int, int]] = set()
        """The partitions (DiskNo, SerialNo) formatted since the device started."""

    @property
    def catalogue(self) -> Catalogue:
        """The recordings: given ones, or made up for the device's yesterday and today (made
        again when the device's clock has moved on to another day)."""
        today = self._state.device_time().date()
        if self._catalogue is None or (self._made_for is not None and self._made_for != today):
            self._catalogue = synthesised_catalogue(today, self._profile.channels.video)
            self._made_for = today
        return self._catalogue

    @catalogue.setter
    def catalogue(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._made_for = None

    def format_partition(self, disk: int, partition: int) -> int:
        """Erase the recordings on a partition (DiskNo `disk`, SerialNo `partition`); how many
        there were. A made-up catalogue stays empty from then on."""
        catalogue = self.catalogue
        kept = [
            recording
            for recording in catalogue.recordings
            if (recording.disk, recording.serial) != (disk, partition)
        ]
        removed = len(catalogue) - len(kept)
        self.formatted.add((disk, partition))
        self.catalogue = Catalogue(kept, hides_future=catalogue.hides_future)
        return removed

    def take_actions(self) -> list[MediaAction]:
        """What the shell must start and stop since the last call."""
        actions, self._actions = self._actions, []
        return actions

    def holds(self, connection: int) -> bool:
        """Whether a stream is claimed on this connection (it lives as long as its session,
        whatever it sends)."""
        return any(claim.connection == connection for claim in self.claims)

    def streams_on(self, connection: int) -> bool:
        """Whether a started stream flows on this connection (a claim that was never started
        keeps nothing alive)."""
        return any(claim.connection == connection and claim.started for claim in self.claims)

    def session_ended(self, connection: int, session: int | None) -> None:
        """The connection's session ends (logout, or the connection is gone): so do its
        streams, and the second connections they flowed on are closed."""
        if session is None:
            return
        for claim in [claim for claim in self.claims if claim.session == session]:
            self.stop(claim, close=claim.connection != connection)

    def connection_closed(self, connection: int) -> None:
        for claim in [claim for claim in self.claims if claim.connection == connection]:
            self.stop(claim, close=False)

    def stop(self, claim: Claim, *, close: bool) -> None:
        self.claims.remove(claim)
        self._actions.append(StopStream(claim, close))

    def add_claim(self, claim: Claim) -> bool:
        """Record a claim (a repeated one replaces the old); False when the connection has
        claimed too many streams already."""
        for old in self.claims:
            if (old.connection, old.channel, old.stream, old.recording) == (
                claim.connection,
                claim.channel,
                claim.stream,
                claim.recording,
            ):
                self.stop(old, close=False)
                break
        if sum(1 for old in self.claims if old.connection == claim.connection) >= (
            _MAX_CLAIMS_PER_CONNECTION
        ):
            return False
        self.claims.append(claim)
        return True

    def start(self, action: StartStream) -> None:
        action.claim.started = True
        self._actions.append(action)
