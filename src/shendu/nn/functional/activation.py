"""Activation functions (激活函数) as ``torch.nn.functional`` names them.

They are differentiable tensor ops, so they live in :mod:`shendu.ops.activation` (layer 2), where
``Tensor.relu()`` and friends find them too; this module re-exports them under ``F``.
"""

from shendu.ops.activation import *  # noqa: F403
from shendu.ops.activation import __all__  # noqa: F401
