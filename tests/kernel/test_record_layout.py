"""records.h and engine/records/layout.py are one layout: sizes, offsets and codes."""

from __future__ import annotations

import pytest

from ringmatch.engine.core import kernel_choice
from ringmatch.engine.records import layout as L
from tests.conftest import need


@pytest.fixture(scope="module")
def figures() -> dict[str, int]:
    module = kernel_choice.compiled_module()
    need(module is not None, "the compiled kernel was not built")
    assert module is not None
    out: dict[str, int] = module.layout()
    return out


def offsets(dtype: object, struct: str) -> dict[str, int]:
    fields = dtype.fields  # type: ignore[attr-defined]
    return {f"{struct}.{name}": offset for name, (_, offset) in fields.items()}


def test_the_records_have_the_dtypes_sizes_and_offsets(figures: dict[str, int]) -> None:
    assert figures["LAYOUT_VERSION"] == L.LAYOUT_VERSION
    assert figures["INPUT_SIZE"] == L.INPUT_DTYPE.itemsize == L.INPUT_SIZE
    assert figures["EVENT_SIZE"] == L.EVENT_DTYPE.itemsize == L.EVENT_SIZE
    assert figures["BOOK_SIZE"] == L.BOOK_DTYPE.itemsize
    assert figures["LIMITS_SIZE"] == L.LIMITS_DTYPE.itemsize
    assert figures["TERMS_SIZE"] == L.TERMS_DTYPE.itemsize == L.INPUT_SIZE
    for dtype, struct in (
        (L.TERMS_DTYPE, "TermsRecord"),
        (L.INPUT_DTYPE, "InputRecord"),
        (L.EVENT_DTYPE, "EventRecord"),
        (L.BOOK_DTYPE, "BookRecord"),
        (L.LIMITS_DTYPE, "LimitRow"),
    ):
        want = offsets(dtype, struct)
        got = {k: v for k, v in figures.items() if k.startswith(struct + ".")}
        assert got == want


def test_the_limits_and_every_kind_and_flag_are_the_same(figures: dict[str, int]) -> None:
    names = [
        "MAX_NAME", "MAX_TEXT", "MAX_SYMBOLS", "MAX_ACCOUNTS",
        "NEW", "CANCEL", "REPLACE", "MASS_CANCEL", "KILL_SWITCH", "SET_RISK_LIMITS",
        "SESSION_OPENED", "SESSION_CLOSED", "WORKER_STARTED", "STAGE_CHAIN", "SKIP_INPUT",
        "DEFINE_SYMBOL", "DEFINE_ACCOUNT", "SET_PHASE", "CLOCK",
        "POST_ONLY", "ON", "CANCEL_ORDERS", "CANCEL_ON_DISCONNECT", "NO_STAGE", "TERMS",
        "KEEP_PRICE", "HAS_TRIGGER", "HAS_DISPLAY", "HAS_EXPIRE",
        "ACCEPTED", "REJECTED", "TRADE", "CANCELLED", "REDUCED", "REPLACED", "MASS_CANCELLED",
        "NAME", "ORDER_TERMS", "TRIGGERED", "REFRESHED", "AUCTION_TRADE", "PHASE_CHANGED",
        "INDICATIVE", "TAKER", "PRIORITY_KEPT", "NAME_ACCOUNT", "NAME_SYMBOL", "WITH_TERMS",
    ]  # fmt: skip
    assert {n: figures[n] for n in names} == {n: getattr(L, n) for n in names}


@pytest.mark.parametrize(
    "table",
    ["SIDE", "ORDER_TYPE", "TIF", "PHASE", "STP", "COMMAND", "REJECT_REASON", "CANCEL_REASON"],
)
def test_every_code_table_is_the_same(figures: dict[str, int], table: str) -> None:
    want = {f"{table}.{member.name}": code for member, code in getattr(L, table + "_CODE").items()}
    got = {k: v for k, v in figures.items() if k.startswith(table + ".")}
    assert got == want
