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


def _quick_start_replay() -> str:
    """The quick start's main job: its command after the install, as a shell line."""
    readme = (REPO / "README.md").read_text()
    quick = readme[readme.index("## Quick start") :]
    start = quick.index("```\n") + 4
    command = quick[start : quick.index("\n```", start)]
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e . && ")
    return command.split(" && ", 2)[2]


def test_the_quick_start_writes_its_outputs_under_out_which_git_ignores(tmp_path: Path) -> None:
    """Run where a fresh clone would, the quick start's replay leaves nothing but out/
    behind, and git ignores every file there."""
    import shlex
    import shutil

    job = _quick_start_replay()
    assert ".venv/bin/ringmatch replay examples/orders.csv" in job
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "orders.csv", tmp_path / "examples" / "orders.csv")
    ringmatch = f"{shlex.quote(sys.executable)} -m ringmatch.cli"
    done = subprocess.run(
        ["bash", "-c", job.replace(".venv/bin/ringmatch", ringmatch)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples", "out"]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["book.csv", "trades.csv"]
    assert (tmp_path / "out" / "trades.csv").read_text().startswith("trade_id,symbol,")
    ignored = subprocess.run(
        ["git", "check-ignore", *(f"out/{name}" for name in written)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ignored.stdout.split() == [f"out/{name}" for name in written]


def test_the_readme_has_the_exit_status_table() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Exit status") :]
    section = section[: section.index("\n## ")]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")]
    assert rows == ["status", "0", "1", "2", "130"]
