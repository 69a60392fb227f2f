"""Reverse-mode automatic differentiation: graph nodes, the backward engine, grad modes,
and numerical differentiation for checking it all.

Inside layer 1 the modules import in this order, never back: ``grad_mode``, ``anomaly_mode`` → ``function`` →
``engine`` → ``shendu.tensor`` → ``numerical`` (and ``graphviz``), which use Tensors.
"""

from shendu.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from shendu.autograd.anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from shendu.autograd.function import Function, unbroadcast
from shendu.autograd import engine
from shendu.autograd.engine import grad
from shendu.autograd.numerical import GradcheckError, GradcheckResult, gradcheck, numerical_grad

__all__ = [
    "Function",
    "unbroadcast",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "inference_mode",
    "grad",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "numerical_grad",
    "gradcheck",
    "GradcheckResult",
    "GradcheckError",
]
