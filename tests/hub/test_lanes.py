"""The journal's two lanes: a flooding device waits behind the others, nobody's order moves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge.hub.lanes import Lanes


def test_a_quiet_device_goes_into_the_next_batch_past_a_flood() -> None:
    lanes: Lanes[tuple[str, int]] = Lanes(share=4)
    for i in range(100):
        lanes.put("flood", ("flood", i))
    lanes.put("quiet", ("quiet", 0))
    batch = lanes.take(10)
    # the flood's first four (its share), then the quiet one, then more of the flood
    assert batch[:5] == [("flood", 0), ("flood", 1), ("flood", 2), ("flood", 3), ("quiet", 0)]
    assert batch[5:] == [("flood", i) for i in range(4, 9)]
    lanes.drop()
    assert len(lanes) == 91 and lanes.slowed == 96


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("put"), st.sampled_from("abcd")),
            st.tuples(st.just("take"), st.integers(1, 7)),
        ),
        max_size=200,
    ),
    st.integers(1, 5),
)
def test_each_source_keeps_its_order_and_nothing_is_lost(
    ops: list[tuple[str, object]], share: int
) -> None:
    lanes: Lanes[tuple[str, int]] = Lanes(share)
    sent: dict[str, int] = {}
    out: list[tuple[str, int]] = []
    for op, arg in ops:
        if op == "put":
            src = str(arg)
            lanes.put(src, (src, sent.get(src, 0)))
            sent[src] = sent.get(src, 0) + 1
        else:
            out += lanes.take(int(str(arg)))
            lanes.drop()
    while len(lanes):
        out += lanes.take(3)
        lanes.drop()
    for src, n in sent.items():
        assert [i for s, i in out if s == src] == list(range(n))
    assert len(out) == sum(sent.values())
