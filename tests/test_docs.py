"""The docs cannot rot: the README's example is the real file, and it prints what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_readme_includes_the_api_example_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    example = (REPO / "examples" / "api_example.py").read_text()
    assert f"```python\n{example}```" in readme


def test_the_api_example_prints_what_the_readme_shows() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "api_example.py")],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    expected = (REPO / "examples" / "api_example.out").read_text()
    assert done.stdout == expected
    assert f"```\n{expected}```" in (REPO / "README.md").read_text()


def test_the_readme_configuration_loads(tmp_path: Path) -> None:
    """The README's TOML blocks together are one valid server configuration."""
    import re

    from ringmatch.system_config import load

    blocks = re.findall(r"```toml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert len(blocks) == 2
    path = tmp_path / "ringmatch.toml"
    path.write_text("\n".join(blocks))
    config = load(path)
    assert [a.name for a in config.accounts] == ["alice", "ops"]
