"""Reverse-mode automatic differentiation: graph nodes, the backward engine, grad modes,
and numerical differentiation for checking it all.
"""

from shendu.autograd.function import Function, unbroadcast
from shendu.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Function",
    "unbroadcast",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "numerical_grad",
    "gradcheck",
    "GradcheckResult",
    "GradcheckError",
]


def __getattr__(name: str):
    # numerical.py needs Tensor, which needs this package: import it on first use.
    if name in ("numerical_grad", "gradcheck", "GradcheckResult", "GradcheckError"):
        from shendu.autograd import numerical

        return getattr(numerical, name)
    raise AttributeError(name)
