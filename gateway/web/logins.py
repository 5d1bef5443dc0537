"""Who may look: the configured accounts' tokens, and the session cookies handed out at login.

A browser posts an account name and its token (``[[accounts]]`` name/token, the
same as order entry's) to ``/login`` and gets a random session id in an
HttpOnly, SameSite=Strict cookie. Sessions live in this process only: a restart
of ``serve`` logs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

COOKIE = "ringmatch_session"
SESSION_TTL_S = 12 * 3600.0


@dataclass(frozen=True)
class Viewer:
    """A logged-in account: an admin sees every account's risk, others their own."""

    account: str
    admin: bool

    def may_see(self, account: str) -> bool:
        return self.admin or account == self.account


class Sessions:
    def __init__(self, accounts: dict[str, tuple[str, bool]], ttl_s: float = SESSION_TTL_S):
        """``accounts``: name -> (token, admin)."""
        self._accounts = accounts
        self._ttl_s = ttl_s
        self._live: dict[str, tuple[Viewer, float]] = {}

    def login(self, account: str, token: str) -> str | None:
        """A new session id for the right token, None for a wrong account or token."""
        known = self._accounts.get(account)
        # Compare even for an unknown account, so the answer takes the same time.
        expected = known[0] if known else secrets.token_hex(16)
        if not hmac.compare_digest(expected.encode(), token.encode()) or known is None:
            return None
        session = secrets.token_urlsafe(32)
        self._live[session] = (Viewer(account, known[1]), time.monotonic() + self._ttl_s)
        return session

    def viewer(self, session: str | None) -> Viewer | None:
        """Who holds the session id ``session``, None when it is unknown or expired."""
        if not session:
            return None
        entry = self._live.get(session)
        if entry is None:
            return None
        if time.monotonic() > entry[1]:
            del self._live[session]
            return None
        return entry[0]

    def logout(self, session: str | None) -> None:
        if session:
            self._live.pop(session, None)

    def __len__(self) -> int:
        return len(self._live)
