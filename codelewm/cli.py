"""The ``codelewm`` command: score and rerank candidate patches, query the after-state index.

Exit codes (also in ``codelewm --help``):
  0  ok
  1  verify: an artifact does not match its manifest, chain or dvc.lock
  2  usage or input error (bad option, unreadable file, malformed JSONL, unusable before-file/symbol)
  3  model missing or unloadable (there is no fallback scorer: train first), or its weights are
     non-finite / of an unexpected dtype, or it produced a non-finite energy
  4  a candidate file or diff is invalid (the message names it; nothing is silently skipped)
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from codelewm.config import DEVICES

EXIT_OK, EXIT_VERIFY, EXIT_USAGE, EXIT_MODEL, EXIT_CANDIDATE = 0, 1, 2, 3, 4

EXIT_HELP = (
    "Exit codes: 0 ok; 1 verify: mismatch; 2 usage/input error; 3 model missing or unloadable "
    "(no fallback scorer; also NaN/inf or mistyped weights); 4 candidate file or diff invalid."
)


def _fail(code: int, msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def _handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map library exceptions onto the documented exit codes (imports are lazy: --help stays fast)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from codelewm.data.codestate import ExtractError
        from codelewm.device import DeviceError
        from codelewm.index.search import IndexLoadError
        from codelewm.model.infer import ModelLoadError
        from codelewm.score import CandidateError, InputError

        try:
            return fn(*args, **kwargs)
        except ModelLoadError as e:
            _fail(EXIT_MODEL, str(e))
        except CandidateError as e:
            _fail(EXIT_CANDIDATE, str(e))
        except (InputError, IndexLoadError, ExtractError, DeviceError, OSError, UnicodeDecodeError) as e:
            _fail(EXIT_USAGE, str(e))

    return wrapper


def _read(path: Path) -> str:
    return Path(path).read_text(encoding="utf-8")


def _check_finite(data: Any) -> None:
    """A NaN/inf energy means the model is unusable, and NaN is not JSON: fail (exit 3), never print it."""
    from codelewm.model.infer import ModelLoadError

    if isinstance(data, float) and not math.isfinite(data):
        raise ModelLoadError(
            "the model produced a non-finite energy (not a number or infinite): its weights are unusable"
        )
    if isinstance(data, dict):
        for v in data.values():
            _check_finite(v)
    elif isinstance(data, (list, tuple)):
        for v in data:
            _check_finite(v)


def _emit(data: Any, as_json: bool, lines: list[str]) -> None:
    _check_finite(data)
    if as_json:
        click.echo(json.dumps(data, indent=2, allow_nan=False))
    else:
        for ln in lines:
            click.echo(ln)


model_opt = click.option(
    "--model", "model_dir", type=click.Path(path_type=Path), required=True, help="Trained model dir."
)
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def before_option(required: bool = True) -> Callable[..., Any]:
    return click.option("--before", "before_path", type=IN_FILE, required=required, help="The file before the edit.")


before_opt = before_option()
cand_opt = click.option(
    "--candidate", "cand_paths", multiple=True, type=IN_FILE, help="Candidate after-file (repeatable)."
)
diff_opt = click.option(
    "--diff",
    "diff_paths",
    multiple=True,
    type=IN_FILE,
    help="Candidate as a unified diff against --before (repeatable).",
)
instr_opt = click.option("--instruction", required=True, help="The edit instruction (natural language).")
symbol_opt = click.option(
    "--symbol", default="", help="Function/class the edit targets (default: the one most candidates change)."
)
device_opt = click.option(
    "--device", type=click.Choice(DEVICES), default="cpu", show_default=True, help="auto = CUDA when present."
)
json_opt = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")


@click.group(epilog=EXIT_HELP)
def main() -> None:
    """CodeLeWM: score and rerank candidate code edits with a trained latent world model."""


@main.command(epilog=EXIT_HELP)
@model_opt
@before_opt
@instr_opt
@cand_opt
@diff_opt
@symbol_opt
@device_opt
@json_opt
@_handled
def score(
    model_dir: Path,
    before_path: Path,
    instruction: str,
    cand_paths: tuple[Path, ...],
    diff_paths: tuple[Path, ...],
    symbol: str,
    device: str,
    as_json: bool,
) -> None:
    """Energy of each candidate (lower = more consistent with the instruction)."""
    ranked = _rank_files(model_dir, before_path, instruction, cand_paths, diff_paths, symbol, device)
    by_index = sorted(ranked, key=lambda r: r["index"])
    _emit(
        {"energies": [{"candidate": r["name"], "energy": r["energy"]} for r in by_index]},
        as_json,
        [f"{r['energy']:.6g}\t{r['name']}" for r in by_index],
    )


def _rank_files(
    model_dir: Path,
    before_path: Path,
    instruction: str,
    cand_paths: tuple[Path, ...],
    diff_paths: tuple[Path, ...],
    symbol: str,
    device: str,
) -> list[dict[str, Any]]:
    if bool(cand_paths) == bool(diff_paths):
        raise click.UsageError(
            "give candidates either as --candidate files or as --diff files (one kind, at least one)"
        )
    from codelewm.score import Scorer

    before = _read(before_path)
    paths = cand_paths or diff_paths
    texts = [_read(p) for p in paths]
    scorer = Scorer.load(model_dir, device=device)
    return scorer.rerank(
        before, instruction, texts, diffs=bool(diff_paths), names=[str(p) for p in paths], symbol=symbol
    )


@main.command(epilog=EXIT_HELP)
@model_opt
@before_option(required=False)
@click.option("--instruction", default=None, help="The edit instruction.")
@cand_opt
@diff_opt
@click.option(
    "--problems",
    "problems_path",
    type=IN_FILE,
    help='JSONL, one problem per line: {"id", "before", "instruction", '
    '"candidates": [...] | "diffs": [...], "symbol"?}.',
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write ranked JSONL here (with --problems).",
)
@symbol_opt
@device_opt
@json_opt
@_handled
def rerank(
    model_dir: Path,
    before_path: Path | None,
    instruction: str | None,
    cand_paths: tuple[Path, ...],
    diff_paths: tuple[Path, ...],
    problems_path: Path | None,
    out_path: Path | None,
    symbol: str,
    device: str,
    as_json: bool,
) -> None:
    """Rank candidates by energy, best first: one query from files, or many from a JSONL."""
    if problems_path is not None:
        if before_path or instruction or cand_paths or diff_paths:
            raise click.UsageError("--problems excludes --before/--instruction/--candidate/--diff")
        _rerank_jsonl(model_dir, problems_path, out_path, device)
        return
    if before_path is None or instruction is None:
        raise click.UsageError("need --before and --instruction (or --problems)")
    if out_path is not None:
        raise click.UsageError("--out is only for --problems")
    ranked = _rank_files(model_dir, before_path, instruction, cand_paths, diff_paths, symbol, device)
    _emit({"ranking": ranked}, as_json, [f"{r['rank']}\t{r['energy']:.6g}\t{r['name']}" for r in ranked])


def _parse_problem(line: str, lineno: int) -> dict[str, Any]:
    from codelewm.score import InputError

    try:
        p = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"line {lineno}: not JSON ({e})") from e
    if not isinstance(p, dict) or not isinstance(p.get("before"), str) or not isinstance(p.get("instruction"), str):
        raise InputError(f"line {lineno}: need string fields 'before' and 'instruction'")
    kinds = [k for k in ("candidates", "diffs") if k in p]
    if len(kinds) != 1 or not isinstance(p[kinds[0]], list) or not p[kinds[0]]:
        raise InputError(f"line {lineno}: need exactly one of 'candidates' or 'diffs' as a non-empty list")
    # downstream problem files hold candidates as {"code": ..., "passed": ...}: accept both shapes
    items = [c["code"] if isinstance(c, dict) and isinstance(c.get("code"), str) else c for c in p[kinds[0]]]
    if not all(isinstance(c, str) for c in items):
        raise InputError(f"line {lineno}: each of '{kinds[0]}' must be a string (or a {{'code': str}} object)")
    p[kinds[0]] = items
    return p


def _rerank_jsonl(model_dir: Path, problems_path: Path, out_path: Path | None, device: str) -> None:
    from codelewm.score import CandidateError, Scorer

    lines = [(i + 1, ln) for i, ln in enumerate(_read(problems_path).splitlines()) if ln.strip()]
    problems = [_parse_problem(ln, i) for i, ln in lines]  # validate everything before loading the model
    scorer = Scorer.load(model_dir, device=device)
    out_lines = []
    for (lineno, _), p in zip(lines, problems):
        pid = str(p.get("id", p.get("task_id", f"line{lineno}")))
        diffs = "diffs" in p
        cands = p["diffs"] if diffs else p["candidates"]
        try:
            symbol = str(p.get("symbol") or p.get("entry_point") or "")
            ranked = scorer.rerank(p["before"], p["instruction"], cands, diffs=diffs, symbol=symbol)
        except CandidateError as e:
            raise CandidateError(f"{e.name} of problem {pid}", e.reason) from e
        record = {
            "id": pid,
            "ranking": ranked,
            "energies": [r["energy"] for r in sorted(ranked, key=lambda r: r["index"])],
        }
        _check_finite(record)
        out_lines.append(json.dumps(record, allow_nan=False))
    text = "\n".join(out_lines) + ("\n" if out_lines else "")
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.group(epilog=EXIT_HELP)
def index() -> None:
    """Nearest-neighbour search over indexed held-out after-states."""


@index.command("query", epilog=EXIT_HELP)
@click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), required=True, help="Index dir (index stage output)."
)
@model_opt
@before_opt
@instr_opt
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1))
@symbol_opt
@device_opt
@json_opt
@_handled
def index_query(
    index_dir: Path,
    model_dir: Path,
    before_path: Path,
    instruction: str,
    k: int,
    symbol: str,
    device: str,
    as_json: bool,
) -> None:
    """Top-k indexed after-states nearest to the predicted after-latent of (before, instruction)."""
    from codelewm.index.build import model_identity
    from codelewm.index.search import load_index, query
    from codelewm.model.infer import predict_after
    from codelewm.score import InputError, Scorer, query_row, resolve_symbol

    scorer = Scorer.load(model_dir, device=device)
    idx = load_index(index_dir)
    if idx.meta.get("model_sha256") != model_identity(model_dir):
        raise InputError(f"index {index_dir} was built with a different model than {model_dir}")
    if scorer.action == "abstract":
        raise InputError("an abstract-action model needs a candidate edit to form its action; use score/rerank")
    before = _read(before_path)
    row = query_row(
        scorer.featurizer, before, instruction, resolve_symbol(scorer.featurizer.indexer, before, [], symbol)
    )
    pred = predict_after(scorer.lm, [{**row, "after_ids": [], "after_mask": []}])
    hits = query(idx, pred, k)[0]
    _emit(
        {"symbol": row["symbol"], "hits": hits},
        as_json,
        [f"{h['rank']}\t{h['energy']:.6g}\t{h['id']}\t{h['split']}" for h in hits],
    )


@main.command("verify", epilog=EXIT_HELP)
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory the manifests' parent paths are relative to (default: the repo holding dvc.yaml).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="dvc.lock to anchor the outputs to (default: the root's dvc.lock when there is one).",
)
@click.option("--no-lock", is_flag=True, help="Check manifests and their chain only.")
@json_opt
def verify_cmd(dirs: tuple[Path, ...], root: Path | None, lock_path: Path | None, no_lock: bool, as_json: bool) -> None:
    """Verify downloaded artifacts: every manifest under DIRS (missing, changed, extra files), the chain of
    parent manifests up to their params hashes, and the outputs dvc.lock records."""
    from codelewm.verify import VerifyUsageError, verify

    if no_lock and lock_path is not None:
        raise click.UsageError("--lock and --no-lock exclude each other")
    try:
        result = verify(list(dirs), root=root, lock=lock_path, use_lock=not no_lock)
    except VerifyUsageError as e:
        _fail(EXIT_USAGE, str(e))
        return
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        lock = f"{result.lock} (sha256 {result.lock_sha256})" if result.lock else "none (manifests and chain only)"
        click.echo(f"root: {result.root}\ndvc.lock: {lock}")
        bad = {p.where for p in result.problems}
        for m in result.manifests + result.chain:
            kind = "manifest" if m in result.manifests else "parent"
            anchor = " [dvc.lock]" if m in result.anchored else ""
            click.echo(f"{'FAIL' if m in bad else 'ok'}\t{kind}\t{m}{anchor}")
        for p in result.problems:
            click.echo(f"  {p.kind}: {p.path} ({p.where}){': ' + p.detail if p.detail else ''}")
        for m in result.unanchored:
            click.echo(f"warning: {m} is recorded by no checked child and no dvc.lock: consistent, not authenticated")
        n = len(result.problems)
        click.echo(
            f"{'verified' if result.ok else 'FAILED'}: {len(result.manifests)} manifest(s), "
            f"{len(result.chain)} parent(s), {n} problem(s)"
        )
    sys.exit(EXIT_OK if result.ok else EXIT_VERIFY)


if __name__ == "__main__":
    main()
