"""The linear-probe reference of ``edgebind eval``: a multinomial logistic regression on frozen
embeddings, trained to convergence, so that its top-1 is what a supervised linear classifier gets
from those embeddings and not an artefact of a step count. Pure numpy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class LinearProbe:
    """A multinomial logistic regression on standardised features, and how its fit ended."""

    w: np.ndarray
    b: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    iters: int
    converged: bool
    grad_max: float              # largest |gradient| of the regularised loss at the end

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (((np.asarray(x, np.float64) - self.mean) / self.std) @ self.w + self.b).argmax(1)

    def record(self) -> dict[str, Any]:
        return {"iters": self.iters, "converged": self.converged, "grad_max": self.grad_max}


def _loss_and_grad(z, onehot, w, b, l2):
    logits = z @ w + b
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(1, keepdims=True)
    loss = -np.log(np.maximum((p * onehot).sum(1), 1e-300)).mean() + 0.5 * l2 * (w * w).sum()
    g = (p - onehot) / len(z)
    return loss, z.T @ g + l2 * w, g.sum(0)


# Convergence: the regularised loss is strictly convex, so its minimum (and the probe's top-1)
# stops depending on the optimiser once the gradient is this small; the iteration cap bounds the
# time (about 1-3 s per modality for 800 x 128 features here) and is reported when it is hit.
PROBE_TOL, PROBE_MAX_ITERS = 1e-6, 50_000


def fit_linear_probe(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-3,
                     tol: float = PROBE_TOL, max_iters: int = PROBE_MAX_ITERS,
                     lr: float = 0.5) -> LinearProbe:
    """Full-batch gradient descent with momentum until every gradient entry is below ``tol``
    (converged) or ``max_iters``. A step that raises the loss restarts the momentum (adaptive
    restart), and one that raises it without momentum halves the step size, so too large an
    ``lr`` slows the fit instead of diverging."""
    x = np.asarray(x, dtype=np.float64)
    mean, std = x.mean(0), x.std(0) + 1e-8
    z = (x - mean) / std
    onehot = np.eye(n_classes)[y]
    w, b = np.zeros((z.shape[1], n_classes)), np.zeros(n_classes)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    loss, gw, gb = _loss_and_grad(z, onehot, w, b, l2)
    it, grad_max, fresh = 0, float(max(np.abs(gw).max(), np.abs(gb).max())), True
    while grad_max > tol and it < max_iters:
        it += 1
        vw, vb = 0.9 * vw + gw, 0.9 * vb + gb
        new_loss, ngw, ngb = _loss_and_grad(z, onehot, w - lr * vw, b - lr * vb, l2)
        if new_loss > loss:
            # Restart the momentum; if even a plain gradient step overshot, halve the step.
            lr = lr / 2 if fresh else lr
            vw, vb, fresh = np.zeros_like(w), np.zeros_like(b), True
            continue
        w, b, loss, gw, gb, fresh = w - lr * vw, b - lr * vb, new_loss, ngw, ngb, False
        grad_max = float(max(np.abs(gw).max(), np.abs(gb).max()))
    return LinearProbe(w, b, mean, std, it, grad_max <= tol, grad_max)
