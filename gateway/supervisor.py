"""``serve``'s process tree: the core process and N gateway worker processes.

Built on engine.pipeline (the core's runtime); see docs/PIPELINE.md.
"""

from __future__ import annotations

import sys
from typing import Any


def run_pipeline(config: Any) -> int:
    try:
        import engine.pipeline  # noqa: F401
    except ModuleNotFoundError:
        print(
            "ringmatch: the core pipeline (engine.pipeline) is not available: "
            "serving in-process (one worker, no journal)",
            file=sys.stderr,
            flush=True,
        )
        from gateway.cli_serve import _run_in_process

        return _run_in_process(config)
    raise NotImplementedError
