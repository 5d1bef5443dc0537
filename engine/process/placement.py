"""Where a process runs and what its collector skips: CPU pinning and a frozen start-up heap.

pin(config.cpus.core, "core")   # before the hot loop; [] leaves the affinity alone
settle()                        # last thing before the loop
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence


def pin(cpus: Sequence[int], role: str) -> None:
    """Restrict this process to ``cpus`` (``[cpus] <role>`` in the config); empty: no-op.

    Raises ``ValueError`` naming the role and the CPUs when the kernel refuses
    (a CPU that does not exist, or is outside this process's cpuset).
    """
    if not cpus:
        return
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as exc:
        online = sorted(os.sched_getaffinity(0))
        raise ValueError(
            f"[cpus] {role} = {list(cpus)}: cannot pin the {role} process there "
            f"({exc.strerror}); this process may use CPUs {online}"
        ) from exc


def settle() -> None:
    """Collect once, then freeze: what start-up built lives until exit, so the cyclic
    collector need never walk it again (shorter, rarer GC pauses in the hot loop)."""
    gc.collect()
    gc.freeze()
