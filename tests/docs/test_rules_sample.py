"""docs/rules.md's sample rule file goes into rules.d/ beside the default pack as it is."""

from __future__ import annotations

import re
from pathlib import Path

from edge.rules.loader import load_ruleset

ROOT = Path(__file__).resolve().parents[2]


def sample() -> str:
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    section = doc[doc.index("## A rule file") :]
    blocks: list[str] = re.findall(r"^```yaml\n(.*?)^```$", section, re.M | re.S)
    return blocks[0]


def test_the_sample_loads_beside_the_default_pack(tmp_path: Path) -> None:
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "hall.yaml").write_text(sample(), encoding="utf-8")
    ruleset = load_ruleset([tmp_path / "rules.d"], {}, True)
    ids = {r.id for r in ruleset.rules}
    assert "rating-day-average-low" in ids and "rating-average-low" in ids  # both packs
    assert {w.id for w in ruleset.windows} >= {"counter-rating-day", "counter-rating-1h"}


def test_examples_rules_d_is_the_sample() -> None:
    shipped = (ROOT / "examples" / "rules.d" / "hall.yaml").read_text(encoding="utf-8")
    body = "".join(line + "\n" for line in shipped.splitlines() if not line.startswith("# "))
    assert body == sample()
