"""``shendu.nn``: modules (layers and networks), parameters, initialisation and the functional ops.

>>> import shendu
>>> from shendu import nn
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
>>> net(shendu.zeros(8, 1, 28, 28)).shape
(8, 10)
>>> sum(p.numel() for p in net.parameters())
79510
"""

from shendu.nn import functional, init, utils
from shendu.nn.modules import *  # noqa: F403
from shendu.nn.modules import __all__ as _modules_all
from shendu.nn.parameter import Parameter

__all__ = ["Parameter", "functional", "init", "parallel", "utils", *_modules_all]

from shendu.nn import parallel
