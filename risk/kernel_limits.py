"""A RiskConfig as the compiled kernel's limits table (layout.LIMITS_DTYPE).

The kernel knows ids, the configuration names: ``limits_table`` maps them
through the wiring's Directory. A name an override uses that the directory
does not know yet (an account that has not traded, a symbol not listed yet)
is defined in the directory here, so that it has its id from now on; the
wiring must then send the directory's DEFINE records for those new ids (in
id order, before any other DEFINE the directory makes later) into the kernel
before, or with, the next batch. Until they arrive no order can name the id
(the kernel rejects UNKNOWN_ACCOUNT / UNKNOWN_SYMBOL before the stage), so a
row for an id not defined yet is harmless; it matters only that the id the
row uses is the one the DEFINE gives the name. Defining here rather than
leaving such rows out keeps the table a function of the configuration alone:
it need not be rebuilt when a name appears later.

Only the six pre-trade limits go into the table; ``kill_position`` and
``max_loss`` are post-trade (risk/monitor.py).
"""

from __future__ import annotations

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory, Names
from ringmatch.risk import limits
from ringmatch.risk.limits import LimitSet, RiskConfig


def _row(account: int, symbol: int, lim: LimitSet) -> tuple[int, ...]:
    values = (getattr(lim, name) for name in L.LIMIT_NAMES)
    return (account, symbol, *(L.NO_LIMIT if v is None else v for v in values))


def limits_table(config: RiskConfig, directory: Directory) -> np.ndarray:
    """``config`` as LIMITS_DTYPE rows: the defaults, then each override in order.

    Names the directory lacks are added to it, in the overrides' order (see
    the module doc: the wiring sends their DEFINE records); BadName for a name
    that cannot have an id. The kernel's resolution (layout.LIMITS_DTYPE)
    then gives, key by key, what ``config.resolve`` gives.
    """
    rows = [_row(0, 0, config)]
    for o in config.accounts:
        account = _ident(directory.accounts, o.account)
        symbol = 0 if o.symbol is None else _ident(directory.symbols, o.symbol)
        rows.append(_row(account, symbol, o))
    return np.array(rows, dtype=L.LIMITS_DTYPE)


def _ident(names: Names, name: str) -> int:
    return names.get(name) or names.add(name)


def known_limits_table(config: RiskConfig, directory: Directory) -> tuple[np.ndarray, bool]:
    """``config`` as LIMITS_DTYPE rows through the names ``directory`` has ids for, and
    whether that was all of them. Unlike ``limits_table`` it defines no name: a core's
    directory gives ids only through the DEFINEs it journals, so an override of a name
    it lacks is left out until the directory has it (the compiled stage then makes
    the table again: engine.core.staged_kernel)."""
    rows = [_row(0, 0, config)]
    complete = True
    for o in config.accounts:
        account = directory.accounts.get(o.account)
        symbol = 0 if o.symbol is None else directory.symbols.get(o.symbol)
        if not account or (o.symbol is not None and not symbol):
            complete = False
            continue
        rows.append(_row(account, symbol, o))
    return np.array(rows, dtype=L.LIMITS_DTYPE), complete


def compiled_limits(payload: bytes | None, directory: Directory) -> tuple[np.ndarray, bool] | None:
    """A SET_RISK_LIMITS payload as the compiled stage's table (None: PreTradeRisk's
    default RiskConfig), with ``known_limits_table``'s completeness; None for a
    payload PreTradeRisk refuses (it keeps the old limits, and so does the kernel)."""
    try:
        config = RiskConfig() if payload is None else limits.decode(payload)
    except limits.RiskConfigError:
        return None
    return known_limits_table(config, directory)
