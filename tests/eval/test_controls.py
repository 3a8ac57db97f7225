import pytest

from codelewm.eval.controls import shuffle_actions


def _row(i: int, key: str, instr: str) -> dict:
    return {
        "id": str(i),
        "before_key": key,
        "instruction": instr,
        "before_ids": [i, i + 1],
        "action_ids": [100 + i],
        "edit_op_ids": [200 + i],
    }


def test_shuffled_action_keeps_before_and_swaps_within_siblings() -> None:
    rows = [_row(0, "a", "x"), _row(1, "a", "y"), _row(2, "a", "z"), _row(3, "b", "u"), _row(4, "c", "v")]
    out, within = shuffle_actions(rows, seed=0)
    assert within == pytest.approx(3 / 5)
    for r, s in zip(rows, out):
        assert s["before_ids"] == r["before_ids"] and s["id"] == r["id"]
        assert s["action_ids"] != r["action_ids"]
    for s in out[:3]:  # donors of sibling rows are siblings
        donor = next(r for r in rows if r["action_ids"] == s["action_ids"])
        assert donor["before_key"] == "a" and s["instruction"] == donor["instruction"]
    assert rows[0]["action_ids"] == [100]  # inputs untouched


def test_shuffle_is_deterministic() -> None:
    rows = [_row(i, "k", str(i)) for i in range(6)]
    assert shuffle_actions(rows, 1)[0] == shuffle_actions(rows, 1)[0]
