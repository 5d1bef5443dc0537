"""Risk limits: the ``[risk]`` section of the TOML configuration, and its msgpack form.

    [risk]                       # defaults for every account and symbol
    max_order_qty = 10_000       # lots per order                         (pre-trade)
    max_notional = 50_000_000    # price x qty per order, ticks x lots    (pre-trade)
    price_band_ticks = 500       # |price - reference| at most this       (pre-trade)
    price_band_bps = 1_000       # ... or at most this many 1/100 % of it (pre-trade)
    max_open_orders = 200        # resting orders per account             (pre-trade)
    max_position = 100_000       # worst-case position per account+symbol (pre-trade)
    kill_position = 50_000       # actual |position| above it: kill switch (post-trade)
    max_loss = 10_000_000        # loss (realised + marked) above it: kill (post-trade)

    [[risk.accounts]]            # overrides; ``symbol`` optional
    account = "acct001"
    symbol = "AAPL"
    max_order_qty = 100

Every key is optional; a missing key means no limit (in ``[risk]``) or "as the
defaults" (in an override). An override naming a symbol beats one for the whole
account, which beats the defaults, key by key. ``max_open_orders`` is per
account, so only account-wide overrides may set it. Every limit is inclusive:
a value equal to the limit passes, one above it is rejected.

The same ``RiskConfig`` travels in ``SetRiskLimits.payload`` as msgpack, so the
journal records exactly the limits the core applied.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

Limit = Annotated[int, msgspec.Meta(ge=0)] | None

LIMIT_FIELDS = (
    "max_order_qty",
    "max_notional",
    "price_band_ticks",
    "price_band_bps",
    "max_open_orders",
    "max_position",
    "kill_position",
    "max_loss",
)


class LimitSet(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One set of limits; ``None``: no limit (or, in an override, inherited)."""

    max_order_qty: Limit = None
    max_notional: Limit = None
    price_band_ticks: Limit = None
    price_band_bps: Limit = None
    max_open_orders: Limit = None
    max_position: Limit = None
    kill_position: Limit = None
    max_loss: Limit = None


class AccountLimits(LimitSet, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An override for one account (and one symbol, if given)."""

    account: Annotated[str, msgspec.Meta(min_length=1)]
    symbol: Annotated[str, msgspec.Meta(min_length=1)] | None = None


class RiskConfig(LimitSet, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole ``[risk]`` section: defaults, then overrides."""

    accounts: list[AccountLimits] = []

    def resolve(self, account: str, symbol: str | None = None) -> LimitSet:
        """The limits in force for ``account`` (and ``symbol``): most specific key wins."""
        layers: list[LimitSet] = [self]
        for o in self.accounts:
            if o.account == account and o.symbol is None:
                layers.append(o)
        if symbol is not None:
            layers.extend(o for o in self.accounts if o.account == account and o.symbol == symbol)
        merged: dict[str, int | None] = {}
        for name in LIMIT_FIELDS:
            value = None
            for layer in layers:
                v = getattr(layer, name)
                if v is not None:
                    value = v
            merged[name] = value
        return LimitSet(**merged)


class RiskConfigError(ValueError):
    """A ``[risk]`` section or a SetRiskLimits payload that cannot be used."""


def _check(config: RiskConfig) -> RiskConfig:
    seen: set[tuple[str, str | None]] = set()
    for i, o in enumerate(config.accounts):
        key = (o.account, o.symbol)
        if key in seen:
            what = o.account if o.symbol is None else f"{o.account}/{o.symbol}"
            raise RiskConfigError(f"accounts[{i}]: a second override for {what}")
        seen.add(key)
        if o.symbol is not None and o.max_open_orders is not None:
            raise RiskConfigError(
                f"accounts[{i}]: max_open_orders is per account; set it without symbol"
            )
    return config


def from_table(table: dict[str, Any]) -> RiskConfig:
    """The parsed ``[risk]`` TOML table (a dict) as a checked RiskConfig."""
    try:
        config = msgspec.convert(table, RiskConfig)
    except msgspec.ValidationError as exc:
        raise RiskConfigError(str(exc).replace("$.", "risk.")) from None
    return _check(config)


def load_toml(path: str) -> RiskConfig:
    """The ``[risk]`` section of the TOML file at ``path`` (defaults when absent).

    Errors name the file, the line of the offending key where it can be found,
    and the field.
    """
    import tomllib

    with open(path, "rb") as f:
        text = f.read()
    try:
        doc = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RiskConfigError(f"{path}: {exc}") from None
    table = doc.get("risk", {})
    if not isinstance(table, dict):
        raise RiskConfigError(f"{path}: risk must be a table")
    try:
        return from_table(table)
    except RiskConfigError as exc:
        line = _line_of(text.decode(), str(exc))
        where = f"{path}:{line}" if line else path
        raise RiskConfigError(f"{where}: {exc}") from None


def _line_of(text: str, message: str) -> int | None:
    """Best effort: the line of the key a validation message names (``...accounts[i].key``)."""
    m = re.search(r"accounts\[(\d+)\](?:\.(\w+))?", message)
    lines = text.splitlines()
    if m:
        index, key = int(m.group(1)), m.group(2)
        headers = [n for n, s in enumerate(lines) if s.strip().startswith("[[risk.accounts]]")]
        if index >= len(headers):
            return None
        end = headers[index + 1] if index + 1 < len(headers) else len(lines)
        for n in range(headers[index], end):
            if key and re.match(rf"\s*{key}\s*=", lines[n]):
                return n + 1
        return headers[index] + 1
    m = re.search(r"risk\.(\w+)", message)
    if m:
        for n, s in enumerate(lines):
            if re.match(rf"\s*{m.group(1)}\s*=", s):
                return n + 1
    return None


def encode(config: RiskConfig) -> bytes:
    """``config`` as the SetRiskLimits payload."""
    return msgspec.msgpack.encode(config)


def decode(payload: bytes) -> RiskConfig:
    """A SetRiskLimits payload back as a checked RiskConfig."""
    try:
        return _check(msgspec.msgpack.decode(payload, type=RiskConfig))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RiskConfigError(f"SetRiskLimits payload: {exc}") from None
