"""Types of the compiled output writer (engine/replay/_event_lines.pyx)."""

import numpy as np

class EventText:
    def __init__(
        self,
        side: list[bytes],
        side_csv: list[bytes],
        order_type: list[bytes],
        tif: list[bytes],
        command: list[bytes],
        reject: list[bytes],
        cancel: list[bytes],
    ) -> None: ...
    def add_names(
        self,
        account_json: list[bytes],
        account_csv: list[bytes],
        symbol_json: list[bytes],
        symbol_csv: list[bytes],
    ) -> None: ...
    def account_count(self) -> int: ...
    def symbol_count(self) -> int: ...
    def json_lines(self, events: np.ndarray) -> bytes: ...
    def trade_rows(self, events: np.ndarray) -> bytes: ...
