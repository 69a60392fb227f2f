"""The optimiser base class: parameter groups, ``zero_grad``, ``step`` and ``state_dict``.

An optimiser holds the parameters to train in *parameter groups* (``param_groups``), each a dict
with ``'params'`` (a list of tensors) and its own hyper-parameters (``'lr'``, ...), exactly as in
``torch.optim``. ``step()`` reads every ``p.grad`` and changes ``p.data`` in place with NumPy,
without recording a graph. Per-parameter memory (momentum, running averages) lives in
``optimizer.state[p]``.

``state_dict()`` has PyTorch's structure: ``{'state': {index: {...}}, 'param_groups': [{...,
'params': [indices]}]}`` with every state array a NumPy array, so a checkpoint can store it in
safetensors: :func:`shendu.serialization.flatten_state_dict` splits it into named arrays plus
JSON-able metadata and :func:`~shendu.serialization.unflatten_state_dict` puts it back together —
no pickle anywhere.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from shendu import backend, parallel
from shendu.autograd.grad_mode import enable_grad, no_grad
from shendu.tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _Required:
    """Marks a hyper-parameter that has no default and must be given."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimisers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs (``named_parameters()``),
            or of dicts that each define a parameter group: ``{'params': [...], 'lr': 0.1}``;
            options missing from a group take the optimiser's defaults.
        defaults: the default hyper-parameters of every group.

    Subclasses implement :meth:`_init_state` (the state of a parameter before its first step)
    and :meth:`_update` (one step for one parameter on NumPy arrays).
    """

    _read_before_step: tuple[str, ...] = ()

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        groups: list[Any] = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- parameter groups -----------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (e.g. newly unfrozen layers) with its own options."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but got a set")
        params = list(params)
        names = None
        if params and isinstance(params[0], tuple):
            names = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"optimizer can only optimize floating-point tensors, got dtype {p.dtype}")
        group["params"] = params
        if names is not None:
            group["param_names"] = names

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            group.setdefault(name, default)
        self._check_group(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):
            # PyTorch warns and keeps them: SGD([b, b]) steps b twice
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                "an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyper-parameters (subclasses raise ValueError naming the value)."""

    @staticmethod
    def _check_non_negative(group: dict[str, Any], *names: str) -> None:
        """Raise torch.optim's ``ValueError("Invalid learning rate: -1")`` for a negative (or NaN) option."""
        for name in names:
            value = group[name]
            if not 0.0 <= value:  # written so that NaN fails too, as in torch.optim
                label = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
                raise ValueError(f"Invalid {label}: {value}")

    # ---- training -------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward pass.

        With ``set_to_none=True`` (the default, as in PyTorch) ``p.grad`` becomes ``None``, so the
        next backward allocates it afresh and ``step`` skips parameters that got no gradient.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given.

        ``closure`` re-evaluates the model and returns the loss (it runs with gradients on).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        """One step for every parameter of the group that has a gradient."""
        # state PyTorch reads once per group before updating (SGD's momentum buffer): a
        # parameter listed twice sees it missing at both of its positions in that step
        absent = {
            id(p): [k for k in self._read_before_step if k not in self.state.get(p, {})]
            for p in group["params"]
        }
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            if p.grad.shape != p.shape:
                raise RuntimeError(f"gradient of shape {p.grad.shape} for a parameter of shape {p.shape}")

        def step_one(p: Tensor) -> None:
            grad = p.grad._data  # type: ignore[union-attr]  # params holds those with a gradient
            if grad.dtype != p.dtype:
                grad = grad.astype(p.dtype)
            state = self.state[p]
            if not state:
                state.update(self._init_state(p._data, group))
            for key in absent[id(p)]:
                state.pop(key, None)
            self._update(p._data, grad, state, group)
            p._bump_version()  # as torch's in-place update: a graph that saved p is stale now

        if _apart(params):  # side by side on the threads, the largest first
            parallel.run(step_one, sorted(params, key=lambda p: -p._data.size))
        else:
            for p in params:
                step_one(p)

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter before its first update (arrays of the parameter's dtype)."""
        return {}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Change ``param`` in place. ``grad`` must not be modified (it is ``p.grad``'s array)."""
        raise NotImplementedError

    # ---- saving and loading ---------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state as PyTorch lays it out, with copies of the state arrays.

        ``{'state': {i: {'step': int, name: ndarray, ...}}, 'param_groups': [{'lr': ...,
        'params': [i, ...]}]}``: parameter ``i`` is the ``i``-th parameter over all groups in order.
        The arrays are host (NumPy) copies also when training on a GPU, so a checkpoint written
        there loads anywhere; ``load_state_dict`` puts them back on each parameter's device.
        """
        index: dict[int, int] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            # PyTorch numbers the group's positions from `start`; a repeated parameter keeps the
            # number of its last position in the group (its dict comprehension overwrites)
            fresh = {id(p): i for i, p in enumerate(group["params"], start) if id(p) not in index}
            index.update(fresh)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {
            index[id(p)]: {
                k: (backend.to_host(v).copy() if backend.is_array(v) else copy.deepcopy(v))
                for k, v in s.items()
            }
            for p, s in self.state.items()
            if id(p) in index and s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for an optimiser over the same parameters).

        Floating-point state arrays are cast to their parameter's dtype; groups take the saved
        hyper-parameters (so a saved learning rate schedule position is kept).
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"but the optimizer has {len(self.param_groups)}"
            )
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} parameters, "
                    f"but the optimizer's group has {len(mine['params'])}"
                )
        id_to_param = {
            int(saved_id): p
            for mine, saved in zip(self.param_groups, saved_groups, strict=True)
            for saved_id, p in zip(saved["params"], mine["params"], strict=True)
        }
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, pstate in state_dict["state"].items():
            key = int(key)
            if key not in id_to_param:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no group lists")
            p = id_to_param[key]
            new_state[p] = {name: _restore_value(name, v, p) for name, v in pstate.items()}
        self.state = new_state
        for mine, saved in zip(self.param_groups, saved_groups, strict=True):
            params = mine["params"]
            mine.clear()
            mine.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
            mine["params"] = params

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(
                f"    {k}: {v}" for k, v in sorted(group.items()) if k not in ("params", "param_names")
            )
        lines.append(")")
        return "\n".join(lines)


def _restore_value(name: str, value: Any, p: Tensor) -> Any:
    """A saved state value, as a copy in ``p``'s dtype (floats) on ``p``'s device."""
    if isinstance(value, Tensor):  # a state dict that went through shendu.save/load holds Tensors
        value = value._data
    if backend.is_array(value):
        if name != "step" and np.issubdtype(value.dtype, np.floating):
            if value.shape != p.shape:
                raise ValueError(
                    f"loaded state '{name}' has shape {value.shape}, but its parameter has shape {p.shape}"
                )
            value = value.astype(p.dtype, copy=True)
        else:
            value = value.copy()
        return backend.to_device(value, p.device)
    return copy.deepcopy(value)


def _apart(params: list[Tensor]) -> bool:
    """Whether the parameters' updates may run side by side on shendu's threads: each one's
    update is the same NumPy calls on its own arrays whichever thread runs it, so the results do
    not depend on the thread count. Only for NumPy arrays (a GPU's work stays on its thread),
    enough elements to be worth a hand-off, and parameters that share no memory (none listed
    twice, none a view into another's array: their updates must follow one another)."""
    if len(params) < 2 or not parallel.worth_sharing(sum(p._data.size for p in params)):
        return False
    if any(type(p._data) is not np.ndarray for p in params):
        return False
    owners = {id(p._data if p._data.base is None else p._data.base) for p in params}
    return len(owners) == len(params)
