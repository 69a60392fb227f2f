"""``Module``: the base of every layer and network, with PyTorch's semantics.

A module owns three ordered registries, filled by plain attribute assignment:

- ``_parameters``: :class:`~shendu.nn.Parameter` objects (trained by the optimiser);
- ``_buffers``: tensors that are state but not trained (BatchNorm's ``running_mean``),
  registered with :meth:`Module.register_buffer`;
- ``_modules``: child modules, which make the module a tree.

Everything else (``parameters()``, ``state_dict()``, ``train()``, ``repr``) walks that tree.

>>> import shendu
>>> from shendu import nn
>>> class TwoLayer(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc1 = nn.Linear(4, 3)
...         self.fc2 = nn.Linear(3, 2)
...     def forward(self, x):
...         return self.fc2(self.fc1(x))
>>> net = TwoLayer()
>>> [name for name, _ in net.named_parameters()]
['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
>>> net
TwoLayer(
  (fc1): Linear(in_features=4, out_features=3, bias=True)
  (fc2): Linear(in_features=3, out_features=2, bias=True)
)
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from shendu import backend
from shendu.autograd.hooks import RemovableHandle
from shendu.nn.parameter import Parameter
from shendu.ops.transfer import cuda_device, to_args
from shendu.tensor import Tensor


class StateDictError(RuntimeError, ValueError):
    """A state dict does not fit the module (missing, unexpected or mis-shaped keys).

    A ``RuntimeError`` as in PyTorch, and a ``ValueError`` as every bad-input error of shendu.
    """


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict(..., strict=False)`` could not match (PyTorch's return value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s: str, num_spaces: int) -> str:
    """Indent every line but the first (how a child's repr nests in its parent's)."""
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first, rest = lines[0], lines[1:]
    return "\n".join([first] + [(num_spaces * " ") + line if line.strip() else "" for line in rest])


def _quoted(keys: list[str]) -> str:
    return ", ".join(f'"{k}"' for k in keys)


def _as_array(value: Any) -> np.ndarray:
    """A state-dict value (Tensor, ndarray, number, or anything with ``__array__``) as an ndarray."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, possibly requiring grad
        return np.asarray(value.detach().cpu().numpy())
    return np.asarray(value)


def _move_in_place(t: Tensor, d: Any, dtype: Any) -> None:
    """Give ``t`` its values on device ``d`` and, if it is floating point, in ``dtype``."""
    arr = t._data
    if dtype is not None and np.issubdtype(arr.dtype, np.floating) and arr.dtype != dtype:
        arr = arr.astype(dtype)
    if d is not None:
        arr = backend.to_device(arr, d)
    if arr is not t._data:
        t._data = arr


class Module:
    """Base class of all layers and networks (PyTorch's ``nn.Module``).

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and child
    modules as attributes, and define ``forward``. Calling the module runs the forward
    pre-hooks, ``forward`` and the forward hooks.
    """

    training: bool
    _version: int = 1

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these registries to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ---- calling ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    @staticmethod
    def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool) -> RemovableHandle:
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False) -> RemovableHandle:
        """``hook(module, args) -> None or new args`` runs before every ``forward``
        (before the hooks already registered when ``prepend=True``)."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False) -> RemovableHandle:
        """``hook(module, args, output) -> None or new output`` runs after every ``forward``.

        >>> from shendu import nn
        >>> import shendu
        >>> shapes = []
        >>> layer = nn.Identity()
        >>> h = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
        >>> _ = layer(shendu.zeros(2, 3)); h.remove(); _ = layer(shendu.zeros(1))
        >>> shapes
        [(2, 3)]
        """
        return self._add_hook(self._forward_hooks, hook, prepend)

    # ---- registration -------------------------------------------------------------------
    def _check_name(self, name: Any, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {kind} before Module.__init__() call: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or a ``None`` placeholder, such as a missing bias) as ``name``."""
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(shendu.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | np.ndarray | None, persistent: bool = True) -> None:
        """Register state that is not trained: saved in ``state_dict`` (if ``persistent``)
        but not returned by ``parameters()``.

        >>> import shendu
        >>> from shendu import nn
        >>> m = nn.Module()
        >>> m.register_buffer("steps", shendu.tensor(0))
        >>> list(m.state_dict()), list(m.parameters())
        (['steps'], [])
        """
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if isinstance(tensor, np.ndarray):
            tensor = Tensor._wrap(tensor)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(shendu.Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (what ``self.name = module`` does)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                self._check_name(name, "parameters")
            self._discard(name, keep="_parameters")  # re-assigning keeps its place, as in PyTorch
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(shendu.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                self._check_name(name, "module")
            self._discard(name, keep="_modules")
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(Module or None expected)"
                )
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if isinstance(value, np.ndarray):
                value = Tensor._wrap(value)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name: str, keep: str) -> None:
        """Forget ``name`` in every registry but ``keep``, before it is registered there anew
        (its entry in ``keep``, if any, is overwritten in place: the order of parameters, and so of
        ``state_dict`` and of the optimiser's indices, does not change)."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and children live here.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = [*dir(type(self)), *self.__dict__, *self._parameters, *self._modules, *self._buffers]
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # ---- walking the tree ---------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for self (name ``''``) and every descendant, parents first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for the direct children."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` in PyTorch's order: a module's own, then each child's in turn.
        A parameter shared by two layers is listed once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path ``target`` (``''`` is self), e.g. ``'features.0'``."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(
                    f"{type(module).__name__} has no submodule '{part}' (looking up '{target}')"
                )
            module = child
        return module

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar parameters (each shared parameter counted once).

        >>> from shendu import nn
        >>> nn.Linear(4, 3).num_parameters()
        15
        """
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ---- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) on the whole tree."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter (``False`` freezes the module)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (``None``, or zeros in place)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every descendant, then on self (e.g. a custom initialisation)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move and/or cast every parameter and buffer (and gradient) in place; returns self.

        The call forms of ``Tensor.to``: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(tensor)``. A dtype applies to floating-point tensors only (integer buffers such as
        ``num_batches_tracked`` keep theirs), as in PyTorch. Optimisers built before the move keep
        working: the parameters are the same objects, only their arrays change.
        """
        d, dtype, _ = to_args("Module.to", args, kwargs)
        if dtype is not None and not np.issubdtype(dtype, np.floating):
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        for t in itertools.chain(self.parameters(), self.buffers()):
            _move_in_place(t, d, dtype)
            if t.grad is not None:
                _move_in_place(t.grad, d, dtype)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def cpu(self) -> Module:
        """Move every parameter and buffer to host memory, in place."""
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Module:
        """Move every parameter and buffer to GPU ``device`` (default the first one), in place."""
        return self.to(cuda_device(device))

    # ---- state dict ---------------------------------------------------------------------
    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict:
        """Parameters and persistent buffers by PyTorch's key names (``'features.0.weight'``).

        Values are detached tensors that share memory with the module (as in PyTorch):
        copy them (``{k: v.numpy().copy() ...}``) to keep a snapshot while training goes on.
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _state_targets(self) -> dict[str, Tensor]:
        """Every key ``state_dict`` would hold, mapped to the live tensor it comes from."""
        return dict(self.state_dict(keep_vars=True))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values (Tensors or NumPy arrays) into this module's parameters and buffers.

        Values are copied into the existing arrays, keeping their dtype, so optimisers that
        hold the parameters keep working. A mis-shaped key is always an error; with
        ``strict=True`` a missing or unexpected key is one too. The error lists every
        bad key. With ``strict=False`` the unmatched keys are returned.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        errors = []
        arrays = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key])
            if value.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
                    f"the shape in current model is {target.shape}."
                )
            else:
                arrays[key] = value
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}. ")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}. ")
        if errors:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        # Copy only after every check passed: a failed load leaves the module untouched.
        for key, value in arrays.items():
            target = targets[key]
            if isinstance(target._data, np.ndarray) and not target._data.flags.writeable:
                target._data = target._data.copy()
            target._data[...] = backend.to_device(value, target.device)  # a checkpoint loads onto any device
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr line (override in layers)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
