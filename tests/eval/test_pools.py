import numpy as np

from codelewm.eval.pools import candidate_table, global_group, sibling_groups


def test_candidate_table_dedups_identical_after_states() -> None:
    t = candidate_table(["a", "b", "a", "c"])
    assert t.cand_of_row.tolist() == [0, 1, 0, 2] and t.rep_row.tolist() == [0, 1, 3]


def test_sibling_pools_only_hold_same_before_candidates() -> None:
    keys = ["k1", "k1", "k1", "k2", "k2", "k3", "k4", "k4"]
    afters = ["a1", "a2", "a3", "b1", "b2", "c1", "d1", "d1"]  # k3 alone, k4 one distinct after-state
    t = candidate_table(afters)
    groups, skipped = sibling_groups(keys, t, min_pool=2)
    assert skipped == 3  # k3 (1 row) and k4 (2 rows, 1 distinct candidate)
    assert len(groups) == 2
    for g in groups:
        rows_of_cands = {int(r) for r in range(len(keys)) if t.cand_of_row[r] in g.cand_ids}
        assert {keys[r] for r in rows_of_cands} == {keys[int(g.query_rows[0])]}
        for q, p in zip(g.query_rows, g.true_pos):
            assert g.cand_ids[p] == t.cand_of_row[q]


def test_global_pool_cap_is_deterministic_and_order_independent() -> None:
    ids = [f"id{i}" for i in range(50)]
    t = candidate_table([f"after{i}" for i in range(50)])
    g1 = global_group(ids, t, cap=10, seed=3)
    g2 = global_group(ids, t, cap=10, seed=3)
    assert g1.cand_ids.size == 10 and np.array_equal(g1.query_rows, g2.query_rows)
    # same ids in another order select the same ids
    perm = list(reversed(range(50)))
    t_rev = candidate_table([f"after{i}" for i in perm])
    g_rev = global_group([ids[i] for i in perm], t_rev, cap=10, seed=3)
    assert sorted(ids[int(r)] for r in g1.query_rows) == sorted(ids[perm[int(r)]] for r in g_rev.query_rows)
    assert global_group(ids, t, cap=10, seed=4).query_rows.tolist() != g1.query_rows.tolist()
    for q, p in zip(g1.query_rows, g1.true_pos):  # every query's true answer is in the pool
        assert g1.cand_ids[p] == t.cand_of_row[q]
