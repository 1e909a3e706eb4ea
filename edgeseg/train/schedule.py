"""Learning-rate schedule: linear warm-up, then polynomial decay, stepped every iteration.

>>> f = poly_warmup(total=100, warmup=10, power=0.9)
>>> round(f(0), 3), round(f(10), 3), f(100)
(0.1, 1.0, 0.0)
"""

from __future__ import annotations


def poly_warmup(total: int, warmup: int, power: float = 0.9, warmup_start: float = 0.1):
    """A multiplier of the base LR per iteration (for ``torch.optim.lr_scheduler.LambdaLR``)."""
    def factor(it: int) -> float:
        if warmup > 0 and it < warmup:
            return warmup_start + (1 - warmup_start) * it / warmup
        return max(0.0, 1 - (it - warmup) / max(1, total - warmup)) ** power
    return factor
