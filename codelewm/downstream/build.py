"""Build execution-labelled rerank problems from HumanEval (stage ``downstream``; evaluation only).

Per task (deterministic in ``cfg.seed`` and the task id):

1. the canonical program must pass its tests in the sandbox (else dropped: ``canonical_fails``);
2. a bug: a mutation operator applied to the entry-point function, kept only if the tests then FAIL
   (semantic operators are tried first since refactors rarely break tests: it saves sandbox runs);
3. two instructions, one per benchmark slice: ``literal`` names the changed code (``fix_instruction``
   in the training instructions' literal style) and ``generic`` only the function ("Fix the bug in
   f."), as a user who has not found the bug writes;
4. candidates: the true fix (the original program), the unchanged buggy program (an energy scorer's
   default failure is to prefer it) and other operator edits of the buggy program (other
   sites/operators), ``min..max_candidates`` distinct programs, shuffled by the seed; each is labelled
   by running HumanEval's ``check(entry_point)`` in the sandbox;
5. problems whose candidates all pass or all fail carry no ranking signal and are dropped.

Never executes code outside the sandbox. Labelling runs in ``cfg.workers`` processes (the sandbox
uses ``preexec_fn``, which is only safe in single-threaded processes).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from codelewm.config import DownstreamConfig
from codelewm.downstream.problems import ProblemError, Task, harness_program, load_tasks, split_program
from codelewm.edits import instructions as tmpl
from codelewm.edits.operators import OPERATORS, Mutation, fix_instruction, mutate
from codelewm.sandbox.runner import SandboxLimits, isolation, run_python
from codelewm.stageio import Funnel, Stage

# operators that usually change behaviour; the rest are refactors (tried last as bug makers)
SEMANTIC_OPS = ("off_by_one", "swap_operator", "negate_condition", "change_constant", "remove_statement", "swap_args")
SLICES = ("literal", "generic")  # instruction styles of the benchmark (problem["instructions"])
MAX_BUG_RUNS = 8  # sandbox runs spent looking for a failing mutant per task
DISTRACTOR_ROUNDS = 4  # passes over all operators (each pass picks fresh sites) to find distractors


def limits_for(cfg: DownstreamConfig) -> SandboxLimits:
    return SandboxLimits(
        timeout_s=cfg.timeout_s,
        cpu_s=cfg.cpu_s,
        memory_mb=cfg.memory_mb,
        max_file_mb=cfg.max_file_mb,
        max_procs=cfg.max_procs,
        policy=cfg.sandbox,
    )


def _bug_ops(rng: random.Random) -> list[str]:
    semantic = [op for op in OPERATORS if op in SEMANTIC_OPS]
    rest = [op for op in OPERATORS if op not in SEMANTIC_OPS]
    rng.shuffle(semantic)
    rng.shuffle(rest)
    return semantic + rest


def _find_bug(
    task: Task,
    function: str,
    splice: Callable[[str], str],
    limits: SandboxLimits,
    rng: random.Random,
    runs: Counter[str],
) -> tuple[Mutation, str] | None:
    """First mutant (in rng order) whose program fails the task's tests."""
    spent = 0
    for op in _bug_ops(rng):
        m = mutate(function, op, rng)
        if m is None:
            continue
        res = run_python(harness_program(splice(m.source), task.test, task.entry_point), limits)
        runs[res.status] += 1
        spent += 1
        if res.status != "passed":
            return m, res.status
        if spent >= MAX_BUG_RUNS:
            break
    return None


def _distractors(buggy_fn: str, original_fn: str, k: int, rng: random.Random) -> list[Mutation]:
    """Up to ``k`` distinct operator edits of the buggy function, none equal to the bug or the fix."""
    seen = {buggy_fn, original_fn}
    out: list[Mutation] = []
    for _ in range(DISTRACTOR_ROUNDS):
        ops = list(OPERATORS)
        rng.shuffle(ops)
        for op in ops:
            m = mutate(buggy_fn, op, rng)
            if m is None or m.source in seen:
                continue
            seen.add(m.source)
            out.append(m)
            if len(out) >= k:
                return out
    return out


def build_problem(task: Task, cfg: DownstreamConfig) -> dict[str, Any]:
    """Build one problem; returns {"task_id", "problem" (or None), "reason", "runs"}."""
    rng = random.Random(f"codelewm-downstream:{cfg.seed}:{task.task_id}")
    limits = limits_for(cfg)
    runs: Counter[str] = Counter()
    out: dict[str, Any] = {"task_id": task.task_id, "problem": None, "reason": "kept", "runs": runs}
    try:
        split = split_program(task.program, task.entry_point)
    except ProblemError as e:
        out["reason"] = e.reason
        return out
    canonical = run_python(harness_program(task.program, task.test, task.entry_point), limits)
    runs[canonical.status] += 1
    if canonical.status != "passed":
        out["reason"] = "canonical_fails"
        return out
    bug = _find_bug(task, split.function, split.splice, limits, rng, runs)
    if bug is None:
        out["reason"] = "no_failing_mutant"
        return out
    mutation, bug_status = bug
    n_cands = rng.randint(cfg.min_candidates, cfg.max_candidates)
    distractors = _distractors(mutation.source, split.function, n_cands - 2, rng)
    if len(distractors) + 2 < cfg.min_candidates:
        out["reason"] = "too_few_candidates"
        return out
    buggy = split.splice(mutation.source)
    candidates = [{"code": task.program, "kind": "fix", "op": mutation.op}]
    # the unchanged program failed its tests when the bug was found: labelled from that run
    candidates.append({"code": buggy, "kind": "unchanged", "op": "", "status": bug_status, "passed": False})
    candidates += [{"code": split.splice(d.source), "kind": "distractor", "op": d.op} for d in distractors]
    for c in candidates:
        if c["kind"] == "unchanged":
            continue
        res = run_python(harness_program(c["code"], task.test, task.entry_point), limits)
        runs[res.status] += 1
        c["status"] = res.status
        c["passed"] = res.status == "passed"
    n_pass = sum(c["passed"] for c in candidates)
    if n_pass == len(candidates):
        out["reason"] = "saturated_all_pass"
        return out
    if n_pass == 0:
        out["reason"] = "saturated_all_fail"
        return out
    rng.shuffle(candidates)
    out["problem"] = {
        "task_id": task.task_id,
        "entry_point": task.entry_point,
        "before": buggy,
        "instruction": fix_instruction(mutation),
        "instructions": {slice_: slice_instruction(mutation, task.entry_point, slice_) for slice_ in SLICES},
        "op": mutation.op,
        "mutation_meta": mutation.meta,
        "bug_status": bug_status,
        "test": task.test,
        "candidates": [{k: c[k] for k in ("code", "passed", "kind", "status", "op")} for c in candidates],
    }
    return out


def slice_instruction(m: Mutation, entry_point: str, slice_: str) -> str:
    """The problem's instruction in one benchmark slice (deterministic in the mutation)."""
    if slice_ == "generic":  # name the entry point, not the innermost function the bug sits in
        return tmpl.render(tmpl.GENERIC, {"func": entry_point}, tmpl.stable_rng("generic", entry_point, m.source))
    return fix_instruction(m)


def _build_all(tasks: list[Task], cfg: DownstreamConfig) -> list[dict[str, Any]]:
    if cfg.workers <= 1:
        return [build_problem(t, cfg) for t in tasks]
    # spawn: fresh single-threaded workers (fork from a threaded parent could deadlock)
    with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(build_problem, tasks, [cfg] * len(tasks), chunksize=1))


def build_problems(tasks: Iterable[Task], cfg: DownstreamConfig) -> tuple[list[dict[str, Any]], Funnel]:
    """Problems for ``tasks`` (in task order) and the funnel of kept/dropped tasks by reason."""
    task_list = list(tasks)
    if cfg.max_tasks:
        task_list = task_list[: cfg.max_tasks]
    funnel = Funnel("downstream")
    problems = []
    runs: Counter[str] = Counter()
    for res in _build_all(task_list, cfg):
        runs.update(res["runs"])
        if res["problem"] is None:
            funnel.drop(res["reason"])
        else:
            funnel.keep()
            problems.append(res["problem"])
    funnel.extra["sandbox_runs"] = dict(sorted(runs.items()))
    return problems, funnel


def summarize(problems: list[dict[str, Any]]) -> dict[str, Any]:
    """Candidate statistics recorded in metrics.json."""
    sizes = [len(p["candidates"]) for p in problems]
    passed = [c["passed"] for p in problems for c in p["candidates"]]
    fracs = [sum(c["passed"] for c in p["candidates"]) / len(p["candidates"]) for p in problems]
    return {
        "n_problems": len(problems),
        "candidates_total": len(passed),
        "candidates_mean": sum(sizes) / len(sizes) if sizes else 0.0,
        "candidates_min": min(sizes, default=0),
        "candidates_max": max(sizes, default=0),
        "candidate_pass_rate": sum(passed) / len(passed) if passed else 0.0,
        "random_pass_at_1": sum(fracs) / len(fracs) if fracs else 0.0,
        "distractor_pass_rate": _rate(c for p in problems for c in p["candidates"] if c["kind"] == "distractor"),
        "bug_ops": dict(sorted(Counter(p["op"] for p in problems).items())),
    }


def _rate(cands: Iterable[dict[str, Any]]) -> float:
    flags = [c["passed"] for c in cands]
    return sum(flags) / len(flags) if flags else 0.0


def run_downstream(cfg: DownstreamConfig, out_dir: Path) -> dict[str, Any]:
    """Write ``problems.jsonl``, ``metrics.json`` and ``manifest.json`` into ``out_dir``; fails (after
    writing them, so the drop reasons can be read) when fewer than ``cfg.problems`` problems survive."""
    isolation(cfg.sandbox)  # strict without bubblewrap: SandboxError before any work
    with Stage("downstream", Path(out_dir), params={"downstream": cfg}) as st:
        problems, funnel = build_problems(load_tasks(), cfg)
        st.funnel = funnel
        with open(st.output("problems.jsonl"), "w", encoding="utf-8") as f:
            for p in problems:
                f.write(json.dumps(p, sort_keys=True) + "\n")
        st.metrics.update(**summarize(problems), sandbox_isolation=isolation(cfg.sandbox))
    if len(problems) < cfg.problems:
        raise RuntimeError(
            f"downstream: only {len(problems)} problems survived (< downstream.problems={cfg.problems}); "
            f"see {Path(out_dir) / 'metrics.json'} for the drop reasons"
        )
    return st.result
