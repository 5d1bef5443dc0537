"""The [risk] TOML section and the SetRiskLimits payload."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringmatch.risk import limits
from ringmatch.risk.limits import AccountLimits, LimitSet, RiskConfig, RiskConfigError

TOML = """\
[gateway]
port = 1

[risk]
max_order_qty = 1000
max_open_orders = 20

[[risk.accounts]]
account = "a"
max_order_qty = 50

[[risk.accounts]]
account = "a"
symbol = "X"
max_notional = 900
"""


def test_toml_layers_resolve_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(TOML)
    config = limits.load_toml(str(path))
    assert config.resolve("a", "X") == LimitSet(
        max_order_qty=50, max_notional=900, max_open_orders=20
    )
    assert config.resolve("a", "Y") == LimitSet(max_order_qty=50, max_open_orders=20)
    assert config.resolve("b", "X") == LimitSet(max_order_qty=1000, max_open_orders=20)


def test_payload_round_trip() -> None:
    config = RiskConfig(max_loss=5, accounts=[AccountLimits(account="a", kill_position=3)])
    assert limits.decode(limits.encode(config)) == config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[risk]\nmax_order_qty = -1\n", r"c.toml:2: .*>= 0.*risk.max_order_qty"),
        ("[risk]\nmax_qty = 1\n", r"c.toml:.*unknown field `max_qty`"),
        (
            '[risk]\n[[risk.accounts]]\naccount = "a"\n[[risk.accounts]]\naccount = "b"\n'
            'max_position = "x"\n',
            r"c.toml:6: .*Expected `int \| null`, got `str`.*risk.accounts\[1\].max_position",
        ),
        ('[risk]\n[[risk.accounts]]\nsymbol = "X"\n', r"c.toml:2: .*missing required field"),
        (
            '[risk]\n[[risk.accounts]]\naccount = "a"\nsymbol = "X"\nmax_open_orders = 1\n',
            r"accounts\[0\]: max_open_orders is per account",
        ),
        (
            '[risk]\n[[risk.accounts]]\naccount = "a"\n[[risk.accounts]]\naccount = "a"\n',
            r"accounts\[1\]: a second override for a",
        ),
        ("[risk\n", r"c.toml: .*line 1"),
    ],
)
def test_bad_config_is_named_with_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(RiskConfigError, match=expected):
        limits.load_toml(str(path))


def test_no_risk_section_means_no_limits(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[gateway]\nport = 1\n")
    assert limits.load_toml(str(path)) == RiskConfig()


def test_bad_payload() -> None:
    with pytest.raises(RiskConfigError, match="SetRiskLimits payload"):
        limits.decode(b"\x01")
