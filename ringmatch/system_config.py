"""The system's configuration: one TOML file for every part of the server.

The gateway reads and checks its own tables (ringmatch.gateway.config: server,
journal, session, feed, accounts, symbols); the ``[risk]`` table is risk's
(ringmatch.risk.limits). The gateway does not import risk, so the two meet
here, where a file is loaded for the whole system: a bad ``[risk]`` key fails
at start, naming the file and ``[risk]`` (or ``[[risk.accounts]] #N``), like any other.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from ringmatch.gateway.config import DEFAULT, Config, ConfigError, explain, place
from ringmatch.gateway.config import load as load_gateway
from ringmatch.risk.limits import RiskConfig, RiskConfigError, from_table

__all__ = ["DEFAULT", "Config", "ConfigError", "load"]


def load(path: str | Path | None) -> Config:
    """The configuration in ``path`` (DEFAULT when None), every table checked;
    ConfigError naming the file and what is wrong."""
    config = load_gateway(path)
    where = path if path is not None else "the built-in configuration"
    try:
        msgspec.convert(config.risk, RiskConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {explain(str(exc), RiskConfig, ('risk',))}") from None
    try:
        from_table(config.risk)
    except RiskConfigError as exc:
        # risk's own checks name an override as ``accounts[i]: ...``.
        override = re.match(r"accounts\[(\d+)\]: ", str(exc))
        if override is None:
            raise ConfigError(f"{where}: [risk]: {exc}") from None
        table = place(["risk", "accounts", int(override.group(1))])
        raise ConfigError(f"{where}: {table}: {str(exc)[override.end() :]}") from None
    return config
