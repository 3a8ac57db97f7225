"""The DDP objective equals one process's: 2 gloo processes on a batch split 5 + 3 rows give the loss,
its parts and (after DDP's gradient averaging) the gradients of 1 process on the concatenated batch."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as tdist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from codelewm.config import ModelConfig
from codelewm.model.batch import collate
from codelewm.model.globalbatch import GlobalBatch
from codelewm.model.jepa import JEPA, ModelSpec
from codelewm.model.objective import loss, sigreg_directions
from tests.fixtures.token_task import make_rows

# dropout 0: ranks and reference see one network; a high temperature spreads InfoNCE over every row, so
# the gradient of a row used as another rank's negative is far above float32 rounding
MCFG = ModelConfig(size="tiny", sigreg_directions=64, infonce_temperature=5.0)
SPEC = ModelSpec("text", MCFG.dims, 64, 0, 64, 16)
SPLIT = 5  # rank 0 takes rows [:5], rank 1 the other 3: unequal, as sibling-grouped batches are
STEP = 7


def _rows() -> list[dict]:
    return make_rows(4, siblings=2)


def _forward(rows: list[dict], model: torch.nn.Module, gb: GlobalBatch) -> tuple[torch.Tensor, dict[str, float]]:
    b = collate(rows, SPEC.action, SPEC.pad_id, SPEC.max_state_tokens, SPEC.max_action_tokens)
    dirs = sigreg_directions(0, STEP, SPEC.dims.d_latent, MCFG.sigreg_directions, "cpu")
    return loss(model(b), MCFG, dirs, gb)


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        dirs = sigreg_directions(0, STEP, SPEC.dims.d_latent, MCFG.sigreg_directions, "cpu")
        every = [torch.empty_like(dirs) for _ in range(world)]
        tdist.all_gather(every, dirs)
        torch.manual_seed(0)
        model = JEPA(SPEC)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        rows = _rows()
        mine = rows[:SPLIT] if rank == 0 else rows[SPLIT:]
        total, parts = _forward(mine, ddp, GlobalBatch(world, rank, tdist.new_group()))
        total.backward()
        local_total, _ = _forward(mine, model, GlobalBatch())  # what each rank trained on before
        save_file({"loss": total.detach().reshape(1), **_grads(model)}, f"{out}/rank{rank}.safetensors")
        info = {
            "parts": parts,
            "same_dirs": all(torch.equal(d, dirs) for d in every),
            "local": float(local_total.detach()),
        }
        Path(out, f"rank{rank}.json").write_text(json.dumps(info))
    finally:
        tdist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_on_the_concatenated_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = JEPA(SPEC)
    rows = _rows()
    assert len(rows) == 8
    total, parts = _forward(rows, model, GlobalBatch())
    total.backward()
    ref = _grads(model)

    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)

    per_rank = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    assert all(torch.equal(per_rank[0][k], per_rank[1][k]) for k in per_rank[0])  # DDP: one gradient
    for rank, got in enumerate(per_rank):
        info = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert info["same_dirs"]  # the SIGReg directions of a step are the same on every rank
        assert torch.allclose(got.pop("loss"), total.detach().reshape(1), rtol=1e-5, atol=1e-6)
        for k, v in parts.items():
            assert info["parts"][k] == pytest.approx(v, rel=1e-5, abs=1e-6), k
        assert set(got) == set(ref)
        for name, g in ref.items():  # equal up to float32 rounding (other padding and summation order)
            assert (got[name] - g).abs().max() <= 1e-4 * g.abs().max() + 1e-6, name
        # the test has power: a rank's own-batch loss (the old DDP objective) is a different number
        assert abs(info["local"] - float(total)) > 1e-3
