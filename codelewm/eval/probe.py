"""Linear probe: is the edit operator linearly decodable from predicted after-latents?

Multinomial logistic regression (torch, full batch, Adam) on standardized latents, fit on train-split
rows and scored on test-split rows. Controls: the same probe on the no-action model's predicted
latents (which cannot know the action, so should be near the majority rate unless the before-state
alone predicts the operator), and on shuffled training labels (the chance level a probe reaches by
fitting noise). Test rows whose operator never occurs in train are excluded and counted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch


def fit_probe(
    x_train: torch.Tensor,
    y_train: np.ndarray,
    x_test: torch.Tensor,
    y_test: np.ndarray,
    epochs: int,
    seed: int,
    lr: float = 0.05,
    weight_decay: float = 1e-3,
) -> float:
    """Test accuracy of a logistic-regression probe trained on (x_train, y_train)."""
    g = torch.Generator().manual_seed(seed)
    x_tr, x_te = x_train.double(), x_test.double()
    mu, sd = x_tr.mean(0), x_tr.std(0).clamp_min(1e-6)  # train statistics only: no test leakage
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    n_cls = int(max(y_train.max(), y_test.max())) + 1
    w = (torch.randn(x_tr.shape[1], n_cls, generator=g, dtype=torch.float64) * 0.01).requires_grad_()
    b = torch.zeros(n_cls, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr, weight_decay=weight_decay)
    yt = torch.as_tensor(y_train, dtype=torch.long)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x_tr @ w + b, yt)
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = (x_te @ w + b).argmax(1).numpy()
    return float(np.mean(pred == y_test))


def probe_suite(
    main_train: torch.Tensor,
    main_test: torch.Tensor,
    ctrl_train: torch.Tensor,
    ctrl_test: torch.Tensor,
    ops_train: list[str],
    ops_test: list[str],
    epochs: int,
    seed: int,
) -> dict[str, Any]:
    """Accuracies of the op probe on main vs no-action latents, shuffled labels and the majority rule."""
    classes = sorted(set(ops_train))
    if len(classes) < 2:
        return {"skipped": "fewer than 2 operators in the train split", "n_train": len(ops_train)}
    cid = {c: i for i, c in enumerate(classes)}
    keep = np.array([o in cid for o in ops_test], dtype=bool)
    if not keep.any():
        return {"skipped": "no test operator occurs in train", "n_train": len(ops_train)}
    y_tr = np.array([cid[o] for o in ops_train])
    y_te = np.array([cid[o] for o in np.asarray(ops_test)[keep]])
    kt = torch.as_tensor(keep)
    rng = np.random.default_rng(seed)
    majority = Counter(y_tr.tolist()).most_common(1)[0][0]
    return {
        "latent": "predicted_after",
        "target": "op",
        "n_train": int(y_tr.size),
        "n_test": int(y_te.size),
        "n_test_unseen_op": int((~keep).sum()),
        "n_classes": len(classes),
        "accuracy": {
            "model": fit_probe(main_train, y_tr, main_test[kt], y_te, epochs, seed),
            "no_action": fit_probe(ctrl_train, y_tr, ctrl_test[kt], y_te, epochs, seed),
            "shuffled_labels": fit_probe(main_train, rng.permutation(y_tr), main_test[kt], y_te, epochs, seed),
            "majority": float(np.mean(y_te == majority)),
        },
    }
