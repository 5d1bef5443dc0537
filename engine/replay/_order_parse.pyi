"""Types of the compiled order-file parser (engine/replay/_order_parse.pyx)."""

from typing import Final

STOP_END: Final[int]
STOP_FULL: Final[int]
STOP_SLOW: Final[int]
MAX_SYMBOLS: Final[int]
MAX_ACCOUNTS: Final[int]

class OrderParser:
    next_seq: int
    def __init__(self, first_seq: int = 1, fields: int = 16) -> None: ...
    def symbol_count(self) -> int: ...
    def account_count(self) -> int: ...
    def symbol_names(self, start: int = 0) -> list[str]: ...
    def account_names(self, start: int = 0) -> list[str]: ...
    def add_symbol(self, name: str) -> int: ...
    def add_account(self, name: str) -> int: ...
    def parse(
        self,
        data: bytes,
        pos: int,
        final: bool,
        out: memoryview | bytearray | object,
        written: int,
        max_rows: int,
    ) -> tuple[int, int, int, int, int]: ...
