"""examples/ringmatch.toml, ``serve --print-config``, and paths taken from the file's directory.

The example must hold every table and key the loader knows (so it cannot go stale
silently when a key is added); ``--print-config`` is the real CLI in a subprocess;
a relative ``data_dir`` means the same directory from any current directory, for
``serve`` and for ``ringmatch risk --config`` alike.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ringmatch.gateway.config import DEFAULT, Config
from ringmatch.risk.limits import RiskConfig
from ringmatch.system_config import load
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config

EXAMPLE = REPO / "examples" / "ringmatch.toml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def switched_on(text: str) -> str:
    """The example with its switched-off settings (``#key = value``) switched on."""
    return re.sub(r"(?m)^#(?=[\w\[])", "", text)


def missing_keys(info: Any, found: list[dict[str, Any]], where: str) -> list[str]:
    """Keys of the struct ``info`` that none of the tables ``found`` holds, recursively."""
    missing = []
    for field in info.fields:
        values = [table[field.encode_name] for table in found if field.encode_name in table]
        if not values:
            missing.append(f"{where}{field.encode_name}")
            continue
        sub = field.type
        if isinstance(sub, msgspec.inspect.ListType):
            sub, values = sub.item_type, [v for value in values for v in value]
        if isinstance(sub, msgspec.inspect.StructType):
            missing += missing_keys(sub, values, f"{where}{field.encode_name}.")
    return missing


def test_the_example_loads_with_the_real_loader() -> None:
    config = load(EXAMPLE)
    assert config.server.data_dir == str(EXAMPLE.parent / "data")
    assert [a.name for a in config.accounts] == ["alice", "bob", "ops"]


def test_the_example_holds_every_table_and_key(tmp_path: Path) -> None:
    text = switched_on(EXAMPLE.read_text())
    assert text != EXAMPLE.read_text(), "the switched-off settings are gone from the example"
    # Switched on, it is still a configuration the loader takes...
    whole = tmp_path / "ringmatch.toml"
    whole.write_text(text)
    load(whole)
    # ...and it names every key of every table the loader knows, [risk]'s included.
    table = tomllib.loads(text)
    missing = missing_keys(msgspec.inspect.type_info(Config), [table], "")
    missing += missing_keys(msgspec.inspect.type_info(RiskConfig), [table["risk"]], "risk.")
    assert missing == [], f"examples/ringmatch.toml lacks {missing}"


def test_every_key_of_the_example_has_a_comment_above_it() -> None:
    lines = EXAMPLE.read_text().splitlines()
    seen: set[tuple[str, str]] = set()
    table = ""
    for number, line in enumerate(lines):
        header = re.match(r"#?(\[\[?[\w.]+\]\]?)", line)
        table = header.group(1) if header else table
        key = re.match(r"#?(\w+) = ", line)
        if key is None or (table, key.group(1)) in seen:
            continue  # a key's first appearance in its table is the one explained
        seen.add((table, key.group(1)))
        above = number - 1
        while re.match(r"#?\w+ = ", lines[above]):
            above -= 1  # keys may share one comment (cpus: core, workers)
        assert lines[above].startswith("# "), f"line {number + 1}: {line!r} has no comment"


def copy_example(into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(EXAMPLE, into / "ringmatch.toml"))


def masked(config: Config) -> Config:
    accounts = [msgspec.structs.replace(a, token="***") for a in config.accounts]
    return msgspec.structs.replace(config, accounts=accounts)


def test_print_config_prints_what_serve_would_run_as_toml(tmp_path: Path) -> None:
    config_file = copy_example(tmp_path / "conf")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli(
        "serve", "--print-config", "--config", str(config_file), "--workers", "2", cwd=elsewhere
    )
    assert done.returncode == 0, done.stderr
    assert "secret" not in done.stdout and 'token = "***"' in done.stdout
    # TOML that loads back to the configuration in force: file, defaults, --workers.
    printed = tmp_path / "printed.toml"
    printed.write_text(done.stdout)
    expected = load(config_file)
    expected = msgspec.structs.replace(
        expected, server=msgspec.structs.replace(expected.server, workers=2)
    )
    assert load(printed) == masked(expected)
    assert f'data_dir = "{tmp_path / "conf" / "data"}"' in done.stdout
    # Nothing started: no data directory, nothing written where it ran.
    assert not (tmp_path / "conf" / "data").exists() and list(elsewhere.iterdir()) == []


def test_print_config_json_fills_in_every_default(tmp_path: Path) -> None:
    config_file = tmp_path / "ringmatch.toml"
    config_file.write_text(
        "[journal]\nfsync = 'never'\n[[accounts]]\nname = 'a'\ntoken = 'sekrit'\n"
    )
    done = cli("serve", "--print-config", "json", "--config", str(config_file), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == msgspec.to_builtins(masked(load(config_file)))
    assert printed["journal"] == {"fsync": "never", "overlap": False}
    assert printed["server"]["topology"] is None and printed["session"]["timeout_s"] == 5.0
    assert printed["accounts"] == [{"name": "a", "token": "***", "admin": False}]


def test_print_config_without_a_file_prints_the_built_in_one(tmp_path: Path) -> None:
    done = cli("serve", "--print-config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "-secret" not in done.stdout and 'token = "***"' in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written
    printed = tmp_path / "printed.toml"
    printed.write_text(done.stdout)
    # Its data_dir is relative: from the file's directory now, as it was from the cwd.
    data_dir = str(tmp_path / "ringmatch-data")
    server = msgspec.structs.replace(DEFAULT.server, data_dir=data_dir)
    assert load(printed) == msgspec.structs.replace(masked(DEFAULT), server=server)


def test_print_config_of_a_bad_file_names_the_key_and_exits_2(tmp_path: Path) -> None:
    config_file = tmp_path / "ringmatch.toml"
    config_file.write_text("[journal]\nfsync = 'always'\n")
    done = cli("serve", "--print-config", "--config", str(config_file), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert (
        f"{config_file}: [journal] fsync: 'always' is not one of 'batch', 'interval', 'never'"
        in done.stderr
    )


def test_a_relative_data_dir_is_taken_from_the_file_s_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "ringmatch.toml").write_text("[server]\ndata_dir = 'data'\n")
    (conf / "abs.toml").write_text(f"[server]\ndata_dir = '{tmp_path / 'elsewhere'}'\n")
    (conf / "up.toml").write_text("[server]\ndata_dir = '../shared/data'\n")
    (conf / "none.toml").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    assert load("../conf/ringmatch.toml").server.data_dir == str(conf / "data")
    assert load(conf / "ringmatch.toml").server.data_dir == str(conf / "data")
    assert load(conf / "abs.toml").server.data_dir == str(tmp_path / "elsewhere")
    assert Path(load(conf / "up.toml").server.data_dir).resolve() == tmp_path / "shared" / "data"
    assert load(conf / "none.toml").server.data_dir == str(conf / "data")  # the default
    # No file at all: the built-in configuration, relative to the current directory.
    assert load(None).server.data_dir == "ringmatch-data"


def test_serve_and_risk_find_a_relative_data_dir_from_any_directory(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    config = write_config(conf / "ringmatch.toml", Path("data"), {})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with ServeProcess(config) as proc:  # runs from the repository, not from conf/
        assert (conf / "data" / "risk.sock").exists()
        done = cli("risk", "--config", str(config), "--json", cwd=elsewhere)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["ok"] is True
        assert proc.stop() == 0, "".join(proc.stderr)
    assert list(elsewhere.iterdir()) == []
