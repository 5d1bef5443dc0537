"""The server's TOML: the issue's keys, unknown keys rejected by name, the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringmatch.gateway.config import DEFAULT, ConfigError, Server, describe, risk_toml
from ringmatch.system_config import load

ISSUE_EXAMPLE = """
[server]
host = "127.0.0.1"
port = 7001          # order entry
feed_port = 7002     # market data
data_dir = "data"
workers = 1

[journal]
fsync = "batch"      # batch | interval | never

[[accounts]]
name = "alice"
token = "alice-secret"

[[symbols]]
name = "AAPL"
tick_size = "0.01"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ringmatch.toml"
    path.write_text(text)
    return path


def test_the_issue_example_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, ISSUE_EXAMPLE))
    assert (config.server.port, config.server.feed_port, config.journal.fsync) == (
        7001,
        7002,
        "batch",
    )
    assert config.token_of("alice") == "alice-secret" and config.token_of("bob") is None
    assert config.symbol_names() == {"AAPL"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 1\n", "[server] prot: unknown key; [server] takes host, port,"),
        ("[serverz]\n", "serverz: unknown key; the top level takes server, journal,"),
        (
            "[[accounts]]\nname = 'a'\ntoken = 't'\nrole = 'x'\n",
            "[[accounts]] #1 role: unknown key; [[accounts]] takes name, token, admin",
        ),
        ("[[accounts]]\nname = 'a'\n", "[[accounts]] #1: the required key token is missing"),
        (
            "[server]\ntopology = 'compact'\nworkers = 2\n",
            '[server] topology = "compact" runs exactly one worker, not workers = 2',
        ),
        ("[server]\nreader_wake_records = 0\n", "[server] reader_wake_records = 0: must be >= 1"),
        ("[cpus]\ncore = [4096]\n", "[cpus] core[0] = 4096: not a CPU this process may use"),
        ("[cpus]\ncore = ['a']\n", "[cpus] core[0]: Expected `int`, got `str`"),
        ("[server]\nport = 'x'\n", "[server] port: Expected `int`"),
        ("server = 1\n", "[server]: Expected `object`, got `int`"),
        ("[server]\nport = 70000\n", "[server] port = 70000"),
        ("[server]\nworkers = 0\n", "[server] workers = 0"),
        ("[[symbols]]\nname = 'A'\ntick_size = 'abc'\n", "[[symbols]] #1 tick_size = 'abc'"),
        (
            "[[accounts]]\nname = 'a'\ntoken = 't'\n[[accounts]]\nname = 'a'\ntoken = 'u'\n",
            "[[accounts]] #2 name: 'a' appears twice",
        ),
        ("[server\n", "not valid TOML"),
        (f"[[symbols]]\nname = '{'X' * 65}'\n", "[[symbols]] #1 name: longer than 64 bytes"),
        ("[session]\nmax_msgs_per_s = -1\n", "[session] max_msgs_per_s = -1"),
        ("[feed]\nmax_queued = 10\n", "[feed] max_queued = 10"),
        ("[feed]\nredis = 'x'\n", "[feed] redis: unknown key; [feed] takes max_queued,"),
        ("[risk]\nmax_order_qty = -1\n", "[risk] max_order_qty: Expected `int` >= 0"),
        (
            "[risk]\nmax_qty = 1\n",
            "[risk] max_qty: unknown key; [risk] takes max_order_qty, max_notional,",
        ),
        ("[risk]\naccounts = 1\n", "[risk] accounts: Expected `array`, got `int`"),
        (
            "[[risk.accounts]]\naccount = 'a'\nmax_los = 1\n",
            "[[risk.accounts]] #1 max_los: unknown key; [[risk.accounts]] takes",
        ),
        (
            "[[risk.accounts]]\naccount = 'a'\n[[risk.accounts]]\naccount = 'a'\n",
            "[[risk.accounts]] #2: a second override for a",
        ),
        (
            "[[risk.accounts]]\naccount = 'a'\nsymbol = 'X'\nmax_open_orders = 1\n",
            "[[risk.accounts]] #1: max_open_orders is per account",
        ),
        ("[[accounts]]\nname = 'a'\ntoken = 't'\nadmin = 'yes'\n", "[[accounts]] #1 admin"),
    ],
)
def test_bad_configs_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("table", "key", "values"),
    [
        ("server", "topology", "'compact', 'processes'"),
        ("server", "wait", "'block', 'busy-spin', 'spin-then-block'"),
        ("journal", "fsync", "'batch', 'interval', 'never'"),
    ],
)
def test_an_enum_error_names_the_table_the_key_and_every_valid_value(
    tmp_path: Path, table: str, key: str, values: str
) -> None:
    path = write(tmp_path, f"[{table}]\n{key} = 'always'\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: [{table}] {key}: 'always' is not one of {values}"


def test_no_file_means_the_embedded_default() -> None:
    assert load(None) is DEFAULT
    text = describe(DEFAULT, show_tokens=True)
    assert "alice (token 'alice-secret')" in text and "ACME" in text
    assert "alice-secret" not in describe(DEFAULT)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load(tmp_path / "nope.toml")


def test_feed_risk_admin_and_throttle_keys(tmp_path: Path) -> None:
    text = (
        "[session]\nmax_msgs_per_s = 50\n"
        "[feed]\nredis_url = 'redis://127.0.0.1:1'\nredis_maxlen = 10\n"
        "[[accounts]]\nname = 'root'\ntoken = 't'\nadmin = true\n"
        "[[accounts]]\nname = 'bob'\ntoken = 'u'\n"
        "[risk]\nmax_order_qty = 7\n[[risk.accounts]]\naccount = 'bob'\nmax_loss = 3\n"
    )
    config = load(write(tmp_path, text))
    assert config.session.max_msgs_per_s == 50
    assert (config.feed.redis_url, config.feed.redis_maxlen) == ("redis://127.0.0.1:1", 10)
    assert [a.admin for a in config.accounts] == [True, False]
    assert "root [admin]" in describe(config) and "throttle 50 requests/s" in describe(config)
    assert "max_order_qty = 7, 1 account override(s)" in describe(config)
    # The embedded default's limits go to the risk process as a file: same limits back.
    from ringmatch.risk.limits import from_table, load_toml

    written = tmp_path / "risk.toml"
    written.write_text(risk_toml(config.risk))
    assert load_toml(str(written)) == from_table(config.risk)


def test_the_topology_is_compact_for_one_worker_unless_chosen() -> None:
    assert Server().chosen_topology() == "compact"
    assert Server(workers=2).chosen_topology() == "processes"
    assert Server(topology="processes").chosen_topology() == "processes"
