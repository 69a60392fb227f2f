"""``Parameter``: a tensor that a :class:`~shendu.nn.Module` learns.

Assigning a ``Parameter`` to a module attribute registers it, so ``module.parameters()``
finds it and an optimiser updates it. A plain :class:`~shendu.Tensor` attribute is not
registered (use ``register_buffer`` for state such as BatchNorm's running mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.tensor import DEFAULT_FLOAT, Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad and is registered by the module it is assigned to.

    ``data`` is a Tensor or ndarray (shared, not copied, as in PyTorch) or anything
    ``numpy.asarray`` accepts (Python floats become float32).

    >>> import shendu
    >>> from shendu.nn import Parameter
    >>> Parameter(shendu.ones(2))
    Parameter containing:
    tensor([1., 1.], requires_grad=True)
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.empty(0, dtype=DEFAULT_FLOAT)
        elif isinstance(data, Tensor):
            arr = data._data
        elif isinstance(data, np.ndarray):
            arr = data
        else:
            arr = Tensor(data)._data
        self._data = arr
        self.grad = None
        self.requires_grad = False
        self._ctx = None
        self._retains_grad = False
        self._version = 0
        self._view = self._views = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self._data.copy(order="K"), self.requires_grad)  # same memory layout
        if self.grad is not None:
            out.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Pickle-free project, but copy.copy and multiprocessing use this path.
        return (Parameter, (self._data, self.requires_grad))
