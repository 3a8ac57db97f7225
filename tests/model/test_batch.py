"""Batch collation and planning: padding, sibling groups, length bucketing, determinism."""

from codelewm.model.batch import BatchPlan, collate, plan_epoch, row_length
from tests.fixtures.token_task import make_rows


def test_collate_pads_masks_and_action_views():
    rows = make_rows(3, siblings=2, seed=1)
    rows[0]["edit_op_ids"] = []
    b = collate(rows, "text", 0, 256, 48)
    assert b.before_ids.shape[0] == len(rows)
    assert b.before_mask.sum(1).tolist() == [len(r["before_ids"]) for r in rows]
    assert b.after_changed.sum().item() == sum(sum(r["after_mask"]) for r in rows)
    assert b.action_ids[0, :3].tolist() == rows[0]["action_ids"]
    ab = collate(rows, "abstract", 0, 256, 48)
    assert ab.action_mask[0].sum() == 1  # empty view still has one attendable (pad) key
    nb = collate(rows, "none", 0, 256, 48)
    assert nb.action_ids.shape == (len(rows), 1)
    tb = collate(rows, "text", 0, 5, 2)
    assert tb.before_ids.shape[1] == 5 and tb.action_ids.shape[1] == 2


def test_plan_keeps_siblings_together_and_covers_every_row_once():
    rows = make_rows(40, siblings=4)
    lengths, keys = [row_length(r) for r in rows], [r["before_key"] for r in rows]
    batches = plan_epoch(lengths, keys, 16, seed=0, epoch=0)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(rows)))
    where = {i: n for n, b in enumerate(batches) for i in b}
    for k in set(keys):
        assert len({where[i] for i, kk in enumerate(keys) if kk == k}) == 1
    assert all(len(b) <= 16 for b in batches)
    assert plan_epoch(lengths, keys, 16, 0, 0) == batches
    assert plan_epoch(lengths, keys, 16, 0, 1) != batches


def test_length_bucketing_reduces_padding():
    rows = make_rows(64, siblings=2, min_len=4, max_len=200)
    lengths, keys = [row_length(r) for r in rows], [r["before_key"] for r in rows]

    def pad_frac(batches):
        real = sum(lengths[i] for b in batches for i in b)
        padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
        return 1 - real / padded

    bucketed = plan_epoch(lengths, keys, 8, 0, 0)
    naive = [list(range(i, min(i + 8, len(rows)))) for i in range(0, len(rows), 8)]
    assert pad_frac(bucketed) < 0.5 * pad_frac(naive)


def test_batch_plan_ranks_are_disjoint_and_steps_span_epochs():
    rows = make_rows(20, siblings=2)
    lengths, keys = [row_length(r) for r in rows], [r["before_key"] for r in rows]
    p0, p1 = BatchPlan(lengths, keys, 4, 0, 0, 2), BatchPlan(lengths, keys, 4, 0, 1, 2)
    assert not set(p0.batch_at(0)) & set(p1.batch_at(0))
    single = BatchPlan(lengths, keys, 4, 0)
    n = len(plan_epoch(lengths, keys, 4, 0, 0))
    assert single.batch_at(n) == plan_epoch(lengths, keys, 4, 0, 1)[0]
