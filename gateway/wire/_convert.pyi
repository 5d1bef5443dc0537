"""Types of the compiled wire conversion (gateway/wire/_convert.pyx): wire_reference's."""

import numpy as np

def orders_to_inputs(
    data: bytes | bytearray | memoryview | np.ndarray,
    account: int,
    symbol_ids: np.ndarray,
    ts_ns: int,
    out: np.ndarray,
    max_frame: int = 65536,
    version: int = 2,
) -> tuple[int, int, np.ndarray]: ...
def events_to_reports(
    events: np.ndarray,
    slot_of_account: np.ndarray,
    wire_symbol: np.ndarray,
    out: bytearray | memoryview | np.ndarray,
    version: int = 2,
) -> tuple[list[tuple[int, int, int]], int, int]: ...
def events_to_slot_bytes(
    events: np.ndarray,
    slot_of_account: np.ndarray,
    wire_symbol: np.ndarray,
    version: int = 2,
) -> tuple[list[tuple[int, bytes]], int]: ...
