"""The system's configuration: one TOML file for every part of the server.

The gateway reads and checks its own tables (ringmatch.gateway.config: server,
journal, session, feed, accounts, symbols); the ``[risk]`` table is risk's
(ringmatch.risk.limits). The gateway does not import risk, so the two meet
here, where a file is loaded for the whole system: a bad ``[risk]`` key fails
at start, naming the file, like any other.
"""

from __future__ import annotations

from pathlib import Path

from ringmatch.gateway.config import DEFAULT, Config, ConfigError
from ringmatch.gateway.config import load as load_gateway
from ringmatch.risk.limits import RiskConfigError, from_table

__all__ = ["DEFAULT", "Config", "ConfigError", "load"]


def load(path: str | Path | None) -> Config:
    """The configuration in ``path`` (DEFAULT when None), every table checked;
    ConfigError naming the file and what is wrong."""
    config = load_gateway(path)
    try:
        from_table(config.risk)
    except RiskConfigError as exc:
        raise ConfigError(
            f"{path if path is not None else 'the built-in configuration'}: {exc}"
        ) from None
    return config
