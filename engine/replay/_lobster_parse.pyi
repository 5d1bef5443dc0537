"""Types of the compiled LOBSTER parser (engine/replay/_lobster_parse.pyx)."""

import numpy as np

def parse_messages(
    data: bytes,
    ts_ns: np.ndarray,
    kind: np.ndarray,
    order_id: np.ndarray,
    size: np.ndarray,
    price: np.ndarray,
    direction: np.ndarray,
) -> int: ...

class MessageTranslator:
    next_seq: int
    last_replay_id: int
    orphans: int
    short: int
    def __init__(self, account: int, symbol: int, last_replay_id: int) -> None: ...
    def was_submitted(self, order_id: int) -> bool: ...
    def translate(
        self,
        ts_ns: np.ndarray,
        kind: np.ndarray,
        order_id: np.ndarray,
        size: np.ndarray,
        price: np.ndarray,
        direction: np.ndarray,
        start: int,
        out: np.ndarray,
    ) -> tuple[int, int]: ...
