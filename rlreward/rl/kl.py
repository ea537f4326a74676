"""KL estimators and KL controllers.

Per-token estimators of ``KL(pi || pi_ref)`` from samples ``y_t ~ pi`` (Schulman, "Approximating KL
divergence", 2020), with ``log_ratio = log pi(y_t) - log pi_ref(y_t)``:

* ``k1 = log_ratio``: unbiased, high variance, can be negative per token.
* ``k2 = log_ratio^2 / 2``: biased, low variance.
* ``k3 = exp(-log_ratio) - 1 + log_ratio``: unbiased and always >= 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

ESTIMATORS = ("k1", "k2", "k3")


def kl_estimate(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k1") -> torch.Tensor:
    """Per-token KL estimate, ``(b, t)`` from two ``(b, t)`` log-probability tensors."""
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio**2
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"Unknown KL estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}.")


@dataclass
class KLController:
    """The KL coefficient ``beta``: fixed, or adapted toward ``target`` (Ziegler et al. 2019).

    Adaptive update after each step: ``e = clip(KL / target - 1, -0.2, 0.2)``,
    ``beta <- beta * (1 + e * n / horizon)`` where ``n`` is the number of samples in the step.
    """

    value: float
    target: float | None = None
    horizon: int = 10_000

    def update(self, kl: float, n_samples: int) -> None:
        if self.target is None or not math.isfinite(kl):
            return
        error = min(max(kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * n_samples / self.horizon

    def state_dict(self) -> dict[str, float]:
        return {"value": self.value}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.value = float(state["value"])
