"""How a client logs in: plain, or over the encrypted FunSDK session of newer firmware
(docs/protocol.md §6.3), sans I/O, shared by both clients.

`encryption` is a camera's setting: `"on"` (the encrypted session or nothing), `"off"` (a plain
login, as every camera before V5.06 takes), or `"auto"`, the default. Auto finds out **before a
password goes out** whether the device wants the encrypted session, because a second login
after a refused one counts towards the lockout (five failures lock most cameras for 30
minutes), so a device never sees more than one login per connection attempt:

1. it sends the negotiation (1413 with session 99999 and the 0x63 marker: nothing secret);
2. a device that offers the session answers with its key: the login is the encrypted one;
3. a device that does not refuses it in clear (it takes it for a claim of a session that does
   not exist): the login is plain, on the same connection; one that says nothing within
   `NEGOTIATION_TIMEOUT` gets a new connection and a plain login.

What it learnt is kept for the camera's next connections (`LoginPlan.learned`), so a
reconnect goes straight to the right login. A plain login answered the way firmware that
wants the session answers one (an empty reply; `DataUseAES` true) also teaches it: the login
fails with EncryptionRequiredError, and the next connection attempt negotiates.

The shells drive a `LoginPlan`: `negotiates()` says whether to send `connection.negotiate()`
first (with `negotiation_deadline()`), `login_wire()` gives the login to send after its answer
(or `negotiation_timed_out()` when none came), and `finished()` checks the login's reply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from xmcam.errors import EncryptionUnavailableError
from xmcam.protocol.codes import MessageId
from xmcam.protocol.connection import ClientConnection, LoginReply, NegotiationReply

__all__ = ["NEGOTIATION_TIMEOUT", "Encryption", "LoginPlan", "encryption_mode"]

NEGOTIATION_TIMEOUT: Final = 3.0
"""Seconds auto waits for the negotiation's answer before it takes the device for one that
does not speak the session (firmware that never answers claims before a login)."""


class Encryption(enum.StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


def encryption_mode(value: str | Encryption) -> Encryption:
    """The setting from its name. Raises ValueError in one line."""
    try:
        return Encryption(value)
    except ValueError:
        names = ", ".join(mode.value for mode in Encryption)
        raise ValueError(f"encryption must be one of {names}, not {value!r}") from None


@dataclass
class LoginPlan:
    """A camera's way of logging in, and what its connection attempts taught about it."""

    mode: Encryption = Encryption.AUTO
    learned: bool | None = None
    """True: the device speaks (or wants) the encrypted session; False: it does not; None:
    not known yet."""

    def negotiates(self) -> bool:
        """Whether the next login starts with the negotiation."""
        if self.mode is Encryption.AUTO:
            return self.learned is not False
        return self.mode is Encryption.ON

    def negotiation_deadline(self, timeout: float) -> float:
        """Seconds to wait for the negotiation's answer: the request timeout, but no more
        than NEGOTIATION_TIMEOUT while auto does not know the device yet."""
        if self.mode is Encryption.AUTO and self.learned is None:
            return min(timeout, NEGOTIATION_TIMEOUT)
        return timeout

    def negotiation_timed_out(self) -> None:
        """No answer came: with "on" that is the end (EncryptionUnavailableError); with auto
        the device is taken for one without the session. Either way the connection is out
        of step (a late 1414 must meet nothing): open a new one for the plain login."""
        if self.mode is Encryption.ON:
            raise EncryptionUnavailableError(
                "it did not answer the negotiation", message_id=MessageId.MONITOR_CLAIM_REQ
            )
        self.learned = False

    def login_wire(
        self,
        connection: ClientConnection,
        answer: NegotiationReply | None,
        user: str,
        password: str,
    ) -> bytes:
        """The login to send: encrypted when the negotiation's `answer` offered a key, plain
        otherwise (and when no negotiation was made: `answer` None). Raises
        EncryptionUnavailableError with "on" when the device refused the negotiation."""
        if answer is not None:
            if answer.offer is not None:
                self.learned = True
                return connection.login_encrypted(user, password)
            if self.mode is Encryption.ON:
                ret = answer.ret
                raise EncryptionUnavailableError(
                    "it refused the negotiation"
                    + (f" (Ret {ret})" if ret is not None else " (no Ret)"),
                    ret=ret or 0,
                    message_id=MessageId.MONITOR_CLAIM_REQ,
                )
            self.learned = False
        return connection.login(user, password)

    def finished(self, reply: LoginReply) -> LoginReply:
        """Check the login's reply (raises what `raise_for_ret()` raises) and learn from it."""
        if not reply.encrypted and (not reply.body.data or reply.data_use_aes):
            # The answer of firmware that wants the encrypted session: the next connection
            # attempt negotiates (with auto).
            self.learned = True
        reply.raise_for_ret()
        return reply
