"""`[queue] rating_timeout_s` against the counters' rating pads: a time-out a pad cannot
take (the RS-485 pad counts it in one byte, 5-255 s) is refused by the config check,
naming the key, the pad and its range; what the pads take passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load
from edge.errors import ConfigError
from edge.hub.build import check_config
from edge.sim.hall_config import Tables, hub_tables, write_hall_toml

RS485 = ("rating-pad-485", {"port": "/dev/ttyUSB1", "address": 1})
MODBUS = ("rating-pad-modbus", {"port": "/dev/ttyUSB1", "address": 1})


def _check(tmp_path: Path, pad: tuple[str, dict[str, object]], timeout: float) -> list[str]:
    queue: Tables = {
        "queue": {"rating_timeout_s": timeout},
        "queue.services": [{"code": "payment", "letter": "A", "name_zh": "缴费"}],
        "queue.counters": [{"number": 1, "services": ["payment"], "rating_pad": "pad-1"}],
    }
    tables = hub_tables("mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", "h1", queue)
    device = {"id": "pad-1", "profile": pad[0], "settings": pad[1]}
    return check_config(load(write_hall_toml(tmp_path / "hall.toml", tables, [device])))


@pytest.mark.parametrize("timeout", [300, 255.6, 4])
def test_a_time_out_the_rs485_pad_cannot_count_is_refused(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ConfigError) as err:
        _check(tmp_path, RS485, timeout)
    assert err.value.key == "queue.rating_timeout_s"
    assert "5 to 255 s" in err.value.expected and "'pad-1'" in err.value.expected
    assert "rating-pad-485" in err.value.expected and str(tmp_path / "hall.toml") in str(err.value)


def test_what_the_pads_take_passes(tmp_path: Path) -> None:
    assert _check(tmp_path, RS485, 255.4)  # rounded to what is sent: 255
    assert _check(tmp_path, RS485, 5)
    assert _check(tmp_path, MODBUS, 300)  # the Modbus pad counts to 600
    with pytest.raises(ConfigError, match="5 to 600 s"):
        _check(tmp_path, MODBUS, 601)
