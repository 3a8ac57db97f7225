"""Featurizer and run_extract: views, token budget, changed-line mask alignment, quarantine, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codelewm.config import ExtractConfig
from codelewm.data.codestate import ExtractError, Indexer
from codelewm.data.extract import run_extract, tokenizer_texts
from codelewm.data.featurize import Featurizer, changed_line_mask, states_for
from codelewm.data.tokenizer import train_tokenizer
from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION
from codelewm.stageio import verify_manifest
from tests.data.datafixtures import MODULE, make_rows, write_rows

CFG = ExtractConfig(vocab_size=500, min_frequency=1)


@pytest.fixture(scope="module")
def feat() -> Featurizer:
    return Featurizer(train_tokenizer([MODULE] * 2, CFG), CFG)


def _marked_lines(f: dict, feat: Featurizer) -> set[str]:
    enc = feat.tok.encode(f["after_state"], add_special_tokens=False)
    assert enc.ids == f["after_ids"] and len(f["after_mask"]) == len(f["after_ids"])
    text = "".join(f["after_state"][s:e] if m else "\x00" for (s, e), m in zip(enc.offsets, f["after_mask"]))
    return {part.strip() for part in text.split("\x00") for part in part.split("\n") if part.strip()}


def test_featurize_views(feat: Featurizer) -> None:
    after = MODULE.replace("if value < low:", "if value <= low:")
    f = feat.featurize(MODULE, after, "Make the lower bound inclusive", "clamp")
    assert f["edit_ops"] == ["replace Compare.ops Lt->LtE"]
    assert "-    if value < low:" in f["diff"] and "+    if value <= low:" in f["diff"]
    assert feat.tok.decode(f["action_ids"]) == "Make the lower bound inclusive"
    assert feat.tok.decode(f["edit_op_ids"]) == "replace Compare.ops Lt->LtE"
    assert feat.tok.decode(f["before_ids"]) == f["before_state"]
    assert _marked_lines(f, feat) == {"if value <= low:"}
    assert feat.pad_id == 0 and feat.vocab_size == feat.tok.get_vocab_size()
    assert set(EXAMPLE_SCHEMA.names) - {
        "schema_version",
        "id",
        "split",
        "source",
        "repo",
        "path",
        "license",
        "op",
        "family",
        "instruction_kind",
        "before_key",
        "instruction",
        "symbol",
    } <= set(f)


@pytest.mark.parametrize(
    "old,new,ops",
    [
        ("result += item", "result -= item", ["replace AugAssign.op Add->Sub"]),
        ("for item in items:\n        result += item", "for x in items:\n        result += x", ["rename Name item->x"]),
        (
            "    return result\n",
            "    if not items:\n        return None\n    return result\n",
            ["insert If in FunctionDef.body"],
        ),
        ("    result = 0\n", "", ["delete Assign in FunctionDef.body"]),
        ("result = 0", "result = 0  # start", ["edit comment"]),
    ],
)
def test_edit_ops(feat: Featurizer, old: str, new: str, ops: list[str]) -> None:
    f = feat.featurize(MODULE, MODULE.replace(old, new, 1), "edit total", "total")
    assert f["edit_ops"] == ops


def test_mask_after_reformatting_marks_only_changed_lines(feat: Featurizer) -> None:
    # re-indent the whole class with tabs: normalization makes those lines identical, so one real
    # change plus a re-wrapped call must be the only marked lines
    before = "class A:\n    def f(self, a, b):\n        x = g(a, b)\n        y = x + 1\n        return y\n"
    after = "class A:\n\tdef f(self, a, b):\n\t\tx = g(a,\n\t\t      b)\n\t\ty = x + 2\n\n\t\treturn y   \n"
    f = feat.featurize(before, after, "Add two", "A.f")
    assert _marked_lines(f, feat) == {"x = g(a,", "b)", "y = x + 2"}


def test_changed_line_mask_offsets() -> None:
    before, after = "a = 1\nb = 2\nc = 3", "a = 1\nb = 5\nc = 3"
    offsets = [(0, 5), (5, 6), (6, 11), (11, 12), (12, 17)]  # lines and newline tokens
    assert changed_line_mask(before, after, offsets) == [0, 0, 1, 0, 0]
    assert changed_line_mask(before, after, [(5, 9)]) == [1]  # newline + start of changed line
    assert changed_line_mask(before, after, []) == []


def test_token_budget_drops_context_then_quarantines(feat: Featurizer) -> None:
    after = MODULE.replace("result = 0", "result = 1")
    full = feat.featurize(MODULE, after, "start at one", "total")
    n_sym = len(feat.tok.encode("\n".join(full["before_state"].split("\n")[-5:])).ids)
    small = Featurizer(feat.tok, ExtractConfig(max_state_tokens=n_sym + 3))
    f = small.featurize(MODULE, after, "start at one", "total")
    assert len(f["before_ids"]) <= n_sym + 3 and f["before_state"].startswith("def total(items):")
    with pytest.raises(ExtractError) as e:
        Featurizer(feat.tok, ExtractConfig(max_state_tokens=5)).featurize(MODULE, after, "x", "total")
    assert e.value.reason == "state_too_long"


def test_featurize_errors(feat: Featurizer) -> None:
    for args, reason in [
        ((MODULE, MODULE, "noop", "total"), "no_state_change"),
        ((MODULE, MODULE.replace("result = 0", "result = 1"), "  ", "total"), "empty_instruction"),
        ((MODULE, MODULE + "\ndef (:\n", "break it", ""), "unparsable"),
        ((MODULE, MODULE.replace("result = 0", "result = 1"), "x", "missing"), "symbol_not_found"),
    ]:
        with pytest.raises(ExtractError) as e:
            feat.featurize(*args)
        assert e.value.reason == reason


def test_run_extract(tmp_path: Path) -> None:
    rows = make_rows(3)
    for r, split in zip(rows, ["train"] * 14 + ["val"] * 4 + ["test"] * 3):
        r["split"] = split
    rows[0]["symbol"] = ""  # whole-file row: symbol found from the diff
    rows[1]["split"] = ""  # not assigned by dedup
    rows[2]["after_file"] = rows[2]["before_file"]  # no change
    m = run_extract(CFG, write_rows(tmp_path / "in" / "transitions.parquet", rows), tmp_path / "out")
    assert m["in"] == 21 and m["kept"] == 19
    assert m["dropped"] == {"no_state_change": 1, "unassigned_split": 1}
    t = pq.read_table(tmp_path / "out" / "examples.parquet")
    assert t.schema.equals(EXAMPLE_SCHEMA) and t.num_rows == 19
    assert set(t["schema_version"].to_pylist()) == {SCHEMA_VERSION}
    assert t["symbol"].to_pylist()[0] == "clamp"
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert {r["reason"] for r in q} == {"no_state_change", "unassigned_split"}
    assert json.loads(q[0]["payload"])["id"] in {rows[1]["id"], rows[2]["id"]}
    feat = Featurizer.from_file(tmp_path / "out" / "tokenizer.json", CFG)
    row = rows[5]
    again = feat.featurize(row["before_file"], row["after_file"], row["instruction"], row["symbol"])
    packed = t.filter(t["id"].to_pylist().index(row["id"]) == __import__("numpy").arange(t.num_rows)).to_pylist()[0]
    assert again["after_ids"] == packed["after_ids"] and again["action_ids"] == packed["action_ids"]
    assert verify_manifest(tmp_path / "out" / "manifest.json") == []


def test_run_extract_without_train_rows_fails(tmp_path: Path) -> None:
    rows = make_rows(1)
    for r in rows:
        r["split"] = "test"
    with pytest.raises(ValueError, match="no usable train"):
        run_extract(CFG, write_rows(tmp_path / "t.parquet", rows), tmp_path / "out")


def test_featurize_query_matches_featurize(feat: Featurizer) -> None:
    after = MODULE.replace("result = 0", "result = 1")
    full = feat.featurize(MODULE, after, "Start at one", "total")
    q = feat.featurize_query(MODULE, "Start at one", "total")
    assert q["before_ids"] == full["before_ids"] and q["action_ids"] == full["action_ids"]
    assert q["before_state"] == full["before_state"]


def test_run_extract_same_with_and_without_supplied_indexes(tmp_path: Path) -> None:
    rows = make_rows(3)
    for r, split in zip(rows, ["train"] * 14 + ["val"] * 4 + ["test"] * 3):
        r["split"] = split
    bare = [dict(r, before_index="") for r in rows]
    for r in rows:
        if r["repo"] == "repo1":  # made by an older format: rejected, the file parsed instead
            r["before_index"] = r["before_index"].replace('"format":1', '"format":0')
    m_sup = run_extract(CFG, write_rows(tmp_path / "in" / "a.parquet", rows), tmp_path / "a")
    m_bare = run_extract(CFG, write_rows(tmp_path / "in" / "b.parquet", bare), tmp_path / "b")
    n_files = len({r["before_file"] for r in rows})
    assert n_files == 3 and m_sup["module_indexes"]["supplied"] == 2 and m_sup["module_indexes"]["rejected"] == 1
    assert m_bare["module_indexes"]["supplied"] == 0 and m_bare["module_indexes"]["parsed"] >= n_files
    for name in ("examples.parquet", "quarantine.parquet", "tokenizer.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_tokenizer_texts_count_each_before_state_once_and_only_new_after_lines() -> None:
    after = MODULE.replace("result = 0", "result = 1\n    seen = set()")
    _sym, before, after_state, ops = states_for(Indexer(), MODULE, after, "total")
    first = list(tokenizer_texts(before, after_state, "Start at one", ops, 24, first=True))
    assert first[0] == before.render(24)
    assert first[1].split("\n") == ["    result = 1", "    seen = set()"]
    assert first[2:] == ["Start at one", " ; ".join(ops)]
    sibling = list(tokenizer_texts(before, after_state, "Start at one", ops, 24, first=False))
    assert sibling == first[1:]
