"""Typed views of episode metadata: read as dataclasses, malformed entries named."""

from __future__ import annotations

import numpy as np
import pytest

from wmbench.errors import WmbenchError
from wmbench.worlds.meta import Alternative, Revisit, Scale, alternatives_of, revisit_of, scale_of, target_of

from ..synthetic import CONTEXT, HORIZON, RED, episode, rollout, squares

T = CONTEXT + HORIZON


def frames() -> np.ndarray:
    return squares({RED: np.stack([np.arange(T) + 4.0, np.full(T, 20.0)], 1)})


def test_alternatives_are_read_in_order_with_unknown_kinds():
    twins = [rollout(frames()) for _ in range(3)]
    meta = {"alternatives": [{"kind": "impossible", "violation": "teleport", "onset": 6}, {"kind": "actions"}]}
    ep = episode(frames(), alternatives=twins, meta=meta)
    assert alternatives_of(ep) == [
        Alternative("impossible", "teleport", 6),
        Alternative("actions"),
        Alternative("unknown"),
    ]
    assert [a.impossible for a in alternatives_of(ep)] == [True, False, False]


def test_scale_revisit_and_target():
    ep = episode(
        frames(), meta={"ppm": 32.0, "gravity": 9.81, "revisit": {"leave_frame": 2, "return_frame": 9}, "target": 1}
    )
    assert scale_of(ep) == Scale(32.0, 9.81)
    assert revisit_of(ep) == Revisit(2, 9) and target_of(ep) == 1
    plain = episode(frames())
    assert revisit_of(plain) is None and target_of(plain) is None


@pytest.mark.parametrize(
    "meta, read, words",
    [
        ({}, scale_of, "meta needs numbers 'ppm' and 'gravity'"),
        ({"revisit": {"leave_frame": 5, "return_frame": 5}}, revisit_of, "meta 'revisit' must hold integer frames"),
        ({"target": 9}, target_of, "meta 'target' is 9, not one of its object ids"),
    ],
)
def test_malformed_entries_name_the_episode_and_key(meta, read, words):
    with pytest.raises(WmbenchError, match=f"episode synthetic@1/dev/0: {words}"):
        read(episode(frames(), meta=meta))
