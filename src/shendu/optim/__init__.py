"""Optimisers (优化器) and learning-rate schedules, with PyTorch's names and update rules.

==========================  =========================================================
``SGD``                      W ← W − η ∂L/∂W;  with momentum: v ← αv − η ∂L/∂W, W ← W + v
``Adagrad``                  h ← h + g⊙g;  W ← W − η g/√h
``RMSprop``                  h ← αh + (1−α) g⊙g;  W ← W − η g/√h
``Adam``, ``AdamW``          momentum + RMSprop with bias correction (decoupled decay)
``Adadelta``                 v ← ρv + (1−ρ) g⊙g;  Δ = √(u+ε)/√(v+ε) g;  W ← W − ηΔ
``Adamax``                   Adam with u ← max(β₂u, |g|) in place of √v
``NAdam``, ``RAdam``         Adam with Nesterov momentum; Adam rectified while v is noisy
==========================  =========================================================

Batch, stochastic and mini-batch gradient descent (BGD / SGD / MBGD) are one optimiser,
``SGD``, fed gradients averaged over a batch of all N samples, of 1 sample, or of n samples:
choose with the DataLoader's ``batch_size`` (N, 1 or n). See docs/optim.md.

The training step is always::

    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
"""

from shendu.optim import lr_scheduler
from shendu.optim.adadelta import Adadelta
from shendu.optim.adagrad import Adagrad
from shendu.optim.adam import Adam
from shendu.optim.adamax import Adamax
from shendu.optim.adamw import AdamW
from shendu.optim.nadam import NAdam
from shendu.optim.optimizer import Optimizer
from shendu.optim.radam import RAdam
from shendu.serialization import flatten_state_dict, unflatten_state_dict  # kept here for old imports
from shendu.optim.rmsprop import RMSprop
from shendu.optim.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "lr_scheduler",
    "flatten_state_dict",
    "unflatten_state_dict",
]
