"""The sandbox policy param: validated in config, passed to every run, enforced before any work.

No process is started here (the strong layer's probe is replaced), so these run in the parallel suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codelewm.config import ConfigError, DownstreamConfig, from_dict, load_params
from codelewm.downstream import build
from codelewm.sandbox import runner
from codelewm.sandbox.runner import SandboxError

PROJECT = Path(__file__).resolve().parents[2]


def test_param_defaults_to_strict_and_is_validated() -> None:
    assert DownstreamConfig().sandbox == "strict"
    assert load_params(PROJECT / "params.yaml").downstream.sandbox == "strict"
    assert from_dict(DownstreamConfig, {"sandbox": "weak"}).sandbox == "weak"
    with pytest.raises(ConfigError, match="strict|weak"):
        DownstreamConfig(sandbox="off")


@pytest.mark.parametrize("policy", ["strict", "weak"])
def test_every_run_gets_the_policy(policy: str) -> None:
    assert build.limits_for(DownstreamConfig(sandbox=policy)).policy == policy


def test_stage_refuses_before_any_work_without_the_strong_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runner, "strong_isolation", lambda: ("", "bwrap (bubblewrap) is not installed"))
    monkeypatch.setattr(build, "load_tasks", lambda: pytest.fail("tasks loaded before the sandbox check"))
    with pytest.raises(SandboxError, match="refusing to run untrusted code.*apt-get install bubblewrap"):
        build.run_downstream(DownstreamConfig(), tmp_path)
    assert not (tmp_path / "problems.jsonl").exists()


def test_weak_policy_records_the_weak_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "strong_isolation", lambda: ("", "bwrap (bubblewrap) is not installed"))
    monkeypatch.setattr(runner, "_weak_isolation", lambda: "pgroup")
    assert runner.isolation("weak") == "pgroup"
    with pytest.raises(SandboxError):
        runner.isolation("strict")
