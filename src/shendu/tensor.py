"""The Tensor: an n-dimensional NumPy array that remembers how it was computed.

A tensor with ``requires_grad=True`` is a leaf of the computational graph; each op applied
to it records a :class:`~shendu.autograd.function.Function` node, and ``backward()`` walks
those nodes in reverse to fill ``.grad`` of every leaf.

In-place ops (``add_``, ``mul_``, ``copy_``, ``x[i] = v``, ``x -= y`` ...) change the tensor's
storage. Under ``no_grad()`` or where nothing needs a gradient they are plain writes (optimiser and
initialisation code); otherwise they are recorded in the graph as in PyTorch (the tensor, or the
base of a view, takes the op's node: see ``shendu.autograd.inplace``), and refused on a leaf that
requires grad. A tensor saved for backward and then changed in place makes ``backward()`` raise,
as in PyTorch, instead of giving wrong gradients.
"""

from __future__ import annotations

import builtins
import numbers
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from shendu import backend as _backend
from shendu import random as _random
from shendu.autograd import inplace as _inplace_graph
from shendu.autograd.engine import backward as run_backward
from shendu.autograd.grad_mode import is_grad_enabled
from shendu.autograd.hooks import RemovableHandle
from shendu.device import CPU, as_device, device_mismatch
from shendu.device import device as Device

if TYPE_CHECKING:
    from shendu.autograd.function import Function, ViewInfo

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
float = float32  # noqa: A001  (PyTorch's alias: shendu.float is float32)
double = float64
long = int64

DEFAULT_FLOAT = float32


def _default_dtype(arr: np.ndarray) -> np.dtype:
    """PyTorch's rule for Python data: floats -> float32, ints -> int64, bools stay bool."""
    if arr.dtype.kind == "f":
        return DEFAULT_FLOAT
    if arr.dtype.kind in "iu":
        return int64
    if arr.dtype.kind == "b":
        return bool_
    raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype}")


def _is_float(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


class Tensor:
    """n-dimensional array with automatic differentiation.

    Attributes: ``data`` (the values outside the graph), ``grad`` (a Tensor or None), ``requires_grad``,
    ``shape``, ``dtype``, ``ndim``. Create with :func:`tensor` or a factory (``zeros``, ``randn``...).

    >>> import shendu
    >>> x = shendu.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # _vc counts in-place changes, so backward can refuse values that changed after being saved:
    # a one-element list, shared by a tensor and its views (made on first need; None = version 0).
    # _post_accumulate_grad_hooks: set on the first hook only (read with getattr, default None).
    # _view: a view's ViewInfo (its root base and the ops from it), None for a tensor with its own
    # storage; _views: on a base, weak references to its views (None until it has one).
    __slots__ = (
        "_data",
        "grad",
        "requires_grad",
        "_ctx",
        "_retains_grad",
        "_vc",
        "_view",
        "_views",
        "_post_accumulate_grad_hooks",
        "__weakref__",
    )
    _data: np.ndarray
    _view: ViewInfo | None
    _views: list | None
    _post_accumulate_grad_hooks: dict[int, Callable[[Tensor], None]]
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(
        self, data: Any, dtype: Any = None, requires_grad: builtins.bool = False, device: Any = None
    ) -> None:
        if isinstance(data, Tensor):
            data = data._data
        if _backend.is_array(data) and not isinstance(data, np.ndarray):  # a GPU array: copy it there
            arr = data.astype(data.dtype if dtype is None else np.dtype(dtype), copy=True)
        else:
            arr = np.array(data, copy=True)
            if dtype is not None:
                arr = arr.astype(np.dtype(dtype), copy=False)
            elif not isinstance(data, np.ndarray) and not isinstance(data, np.generic):
                arr = arr.astype(_default_dtype(arr), copy=False)
        if device is not None:
            arr = _backend.to_device(arr, as_device(device))
        self._data = arr
        self.grad: Tensor | None = None
        self.requires_grad = False
        self._ctx: Function | None = None
        self._retains_grad = False
        self._vc: list[int] | None = None
        self._view = self._views = None
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr: Any) -> Tensor:
        """A plain Tensor over ``arr`` without copying or dtype changes (for ops).

        Always a ``Tensor``, also when called on a subclass instance (``param._wrap(a)``): the
        autograd engine makes its outputs this way without importing this module.
        """
        t = Tensor.__new__(Tensor)
        t._data = arr if isinstance(arr, np.ndarray) or _backend.is_array(arr) else np.asarray(arr)
        t.grad = None
        t.requires_grad = False
        t._ctx = None
        t._retains_grad = False
        t._vc = None
        t._view = t._views = None
        return t

    # ---- version counter ---------------------------------------------------------------
    def _version_counter(self) -> list[int]:
        """The shared counter of in-place changes (created here on first need)."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        return vc

    @property
    def _version(self) -> builtins.int:
        """How many in-place changes this tensor's memory has seen (through it or any view)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value: builtins.int) -> None:
        vc = getattr(self, "_vc", None)  # unset in a subclass __init__ that fills the slots itself
        if vc is None:
            self._vc = [value]
        else:
            vc[0] = value

    def _bump_version(self) -> None:
        vc = self._vc
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1

    # ---- properties ---------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """The same values as a new tensor outside the graph, as PyTorch's ``.data``.

        It shares the storage (``w.grad.data.zero_()`` and ``p.data.add_(g, alpha=-lr)`` change
        ``w.grad`` and ``p``) and has ``requires_grad=False``. Unlike PyTorch, it also shares the
        version counter, as ``detach()`` does: a change made through ``.data`` to values saved for
        the gradient makes backward raise instead of silently using the changed values.
        """
        t = Tensor._wrap(self._data)
        t._vc = self._version_counter()
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        # PyTorch's set_data: self now holds value's storage (shared, not copied), whatever its
        # shape and dtype; ``p.data -= lr * p.grad`` ends here with the tensor it changed in place.
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data has to be set to a Tensor, but got {type(value).__name__}")
        if self.requires_grad and not _is_float(value.dtype):
            raise RuntimeError(
                f"data set to a tensor of dtype {value.dtype}, but this tensor requires gradients, "
                "which needs a floating-point dtype"
            )
        self._data = value._data

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> builtins.int:
        return self._data.ndim

    @property
    def device(self) -> Device:
        """Where the values live: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        return _backend.device_of(self._data)

    @property
    def is_cuda(self) -> builtins.bool:
        return self.device.type == "cuda"

    def get_device(self) -> builtins.int:
        """The GPU number of a CUDA tensor; −1 for a CPU tensor (as PyTorch)."""
        index = self.device.index
        return -1 if index is None else index

    @property
    def is_leaf(self) -> builtins.bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    def size(self, dim: builtins.int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> builtins.int:
        return self.ndim

    def numel(self) -> builtins.int:
        return int(self._data.size)

    def __len__(self) -> builtins.int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along the first axis, ``x[0], x[1], …`` (each in the graph)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ---- conversion ---------------------------------------------------------------
    def _host_only(self) -> None:
        if not isinstance(self._data, (np.ndarray, np.generic)):  # a GPU array
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. "
                "Use Tensor.cpu() to copy the tensor to host memory first."
            )

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), as ``Tensor.numpy()`` in PyTorch.

        Only for CPU tensors: a GPU tensor is first copied with ``.cpu()``."""
        self._host_only()
        return self._data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        # NumPy's protocol: np.asarray(t) shares memory (copy=None); np.array(t) asks for a copy.
        self._host_only()
        arr = self._data if dtype is None else self._data.astype(dtype, copy=False)
        if copy is False and arr is not self._data:
            raise ValueError(f"cannot convert a {self.dtype} tensor to {np.dtype(dtype)} without a copy")
        return arr.copy() if copy and arr is self._data else arr

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, got shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self._data.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as in PyTorch; others print as ``str``."""
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __index__(self) -> builtins.int:
        return int(self.item())

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no copy); it shares the version counter, so an
        in-place change of the detached tensor is seen by backward, as in PyTorch."""
        t = Tensor._wrap(self._data)
        t._vc = self._version_counter()
        return t

    # ---- autograd -----------------------------------------------------------------
    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Mark a leaf as a variable whose gradient backward should compute."""
        if requires_grad and not _is_float(self.dtype):
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad can only be switched off on a leaf; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` of this non-leaf tensor after backward (for looking inside the graph)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` in every backward once this leaf's ``.grad`` holds all its
        gradient (after the last contribution is added), as PyTorch's hook of the same name.
        DistributedDataParallel uses it to start averaging a gradient while backward goes on.

        >>> import shendu
        >>> w = shendu.ones(2, requires_grad=True)
        >>> seen = []
        >>> h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        >>> (w * w + w).sum().backward()  # two paths into w: the hook runs once, with their sum
        >>> seen
        [[3.0, 3.0]]
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._ctx is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = getattr(self, "_post_accumulate_grad_hooks", None)
        if hooks is None:
            hooks = {}
            self._post_accumulate_grad_hooks = hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def backward(self, gradient: Any = None, retain_graph: builtins.bool = False) -> None:
        """Compute d self / d leaf for every leaf and add it to ``leaf.grad``.

        ``gradient`` is d L / d self; it may be left out only when self holds one element.
        The graph is freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no grad_fn — "
                "no input of its computation was created with requires_grad=True"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    "backward(): grad can be implicitly created only for scalar outputs, "
                    f"got shape {self.shape}; pass gradient=... with the same shape"
                )
            g = _backend.get_array_module(self._data).ones(self.shape, dtype=self.dtype)
        else:
            g = array_of(gradient)
            g = _backend.to_device(g.astype(self.dtype, copy=False), self.device)
            if g.shape != self.shape:
                raise RuntimeError(
                    f"backward(): gradient has shape {g.shape}, but the tensor has shape {self.shape}"
                )
        run_backward(self, g, retain_graph=retain_graph)

    # ---- in-place ops ----------------------------------------------------------------
    def _recorded(self, name: str, *others: Any, through_view: builtins.bool = False) -> builtins.bool:
        """Whether this in-place op goes into the graph (self or an operand needs a gradient and
        grad mode is on); raises PyTorch's error where it may not (a leaf that requires grad)."""
        return _inplace_graph.is_recorded(self, others, name, through_view)

    def _write(self, name: str, values: np.ndarray) -> Tensor:
        """Store ``values`` into ``self._data`` in place, keeping self's shape and dtype."""
        values = _backend.like(self._data, values if _backend.is_array(values) else np.asarray(values))
        if values.dtype != self.dtype and not np.can_cast(values.dtype, self.dtype, "same_kind"):
            raise TypeError(
                f"{name}: result dtype {values.dtype} cannot be stored in a tensor of dtype {self.dtype}"
            )
        try:
            shape = np.broadcast_shapes(values.shape, self.shape)
        except ValueError:
            shape = None
        if shape != self.shape:
            raise ValueError(
                f"{name}: a result of shape {values.shape} does not fit the tensor's shape {self.shape}"
            )
        self._data[...] = values
        self._bump_version()
        return self

    def _inplace(self, name: str, fn: Callable[..., np.ndarray], *others: Any, **kw: Any) -> Tensor:
        """``self = fn(self, *others)`` in place; recorded in the graph where a gradient is needed
        (then ``_record_inplace``, installed by ``shendu.ops``, computes it with ``kw``)."""
        if self._recorded(name, *others):
            return self._record_inplace(name, *others, **kw)
        arrays = [_operand(self, o, name) if isinstance(o, Tensor) else _array_arg(self, o) for o in others]
        return self._write(name, fn(self._data, *arrays))

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self += alpha · other, in place (``p.add_(g, alpha=-lr)`` is an SGD step)."""
        return self._inplace("add_", lambda a, o: a + (o if alpha == 1 else alpha * o), other, alpha=alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self −= alpha · other, in place."""
        return self._inplace("sub_", lambda a, o: a - (o if alpha == 1 else alpha * o), other, alpha=alpha)

    def mul_(self, other: Any) -> Tensor:
        """self ·= other, in place."""
        return self._inplace("mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        """self /= other, in place."""
        return self._inplace("div_", np.true_divide, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """Clamp every element into [min, max], in place."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return self._inplace("clamp_", lambda a, lo, hi: np.clip(a, lo, hi), min, max)

    clip_ = clamp_

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src``'s values into self (broadcast to self's shape, cast to self's dtype)."""
        if self._recorded("copy_", src):
            return self._record_inplace("copy_", src)
        values = array_of(src)
        values = _backend.to_device(values, self.device)  # copy_ moves across devices, as PyTorch's
        if not np.can_cast(values.dtype, self.dtype, "unsafe"):  # pragma: no cover (numpy casts anything)
            raise TypeError(f"copy_: cannot copy dtype {values.dtype} into {self.dtype}")
        return self._write("copy_", values.astype(self.dtype, copy=False))

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value``, in place."""
        if self._recorded("fill_", value):
            return self._record_inplace("fill_", value)
        value = _backend.to_host(value._data) if isinstance(value, Tensor) else np.asarray(value)
        return self._write("fill_", value.astype(self.dtype))

    def zero_(self) -> Tensor:
        """Fill with zeros in place."""
        return self.fill_(0)

    def _fill_random(self, name: str, normal: builtins.bool, scale: Any, shift: Any) -> Tensor:
        if self._recorded(name):  # the new values are constants: no gradient flows to the old ones
            values = self._data.copy()
            _random.fill_(values, normal=normal, scale=scale, shift=shift)
            return self._record_inplace("fill_", Tensor._wrap(values))
        _random.fill_(self._data, normal=normal, scale=scale, shift=shift)  # the draws of nn.init
        self._bump_version()
        return self

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0) -> Tensor:
        """Fill with samples of N(mean, std²) from the library's generator, in place."""
        return self._fill_random("normal_", True, std, mean)

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0) -> Tensor:
        """Fill with samples of U(a, b) from the library's generator, in place."""
        return self._fill_random("uniform_", False, b - a, a)

    # ---- indexing -----------------------------------------------------------------
    def __setitem__(self, idx: Any, value: Any) -> None:
        if self._recorded("x[idx] = v", value, through_view=_is_basic_index(idx)):
            self._record_inplace("setitem", value, idx=idx)
            return
        if isinstance(value, Tensor):
            value = _backend.to_device(value._data, self.device)
        elif not isinstance(self._data, np.ndarray):
            value = _backend.like(self._data, np.asarray(value))
        self._data[_index_arrays(idx, self._data)] = value
        self._bump_version()

    # ---- comparison and logic (no gradient) ------------------------------------------
    def _compare(self, o: Any, fn) -> Tensor:
        return Tensor._wrap(fn(self._data, _operand(self, o, fn.__name__) if isinstance(o, Tensor) else o))

    def __lt__(self, o):
        return self._compare(o, np.less)

    def __le__(self, o):
        return self._compare(o, np.less_equal)

    def __gt__(self, o):
        return self._compare(o, np.greater)

    def __ge__(self, o):
        return self._compare(o, np.greater_equal)

    def __eq__(self, o):
        return self._compare(o, np.equal)  # type: ignore[override]

    def __ne__(self, o):
        return self._compare(o, np.not_equal)  # type: ignore[override]

    __hash__ = object.__hash__

    # Logical and integer ops: no gradient flows through them.
    def _nondiff(self, o: Any, fn, name: str, reflected: builtins.bool = False) -> Tensor:
        if is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in (self, o)):
            raise RuntimeError(f"'{name}' is not differentiable in shendu; apply it to x.detach()")
        a, b = binary_operands(o, self) if reflected else binary_operands(self, o)
        return Tensor._wrap(fn(a._data, _operand(a, b, name)))

    def __and__(self, o):
        return self._nondiff(o, np.bitwise_and, "&")

    def __rand__(self, o):
        return self._nondiff(o, np.bitwise_and, "&", True)

    def __or__(self, o):
        return self._nondiff(o, np.bitwise_or, "|")

    def __ror__(self, o):
        return self._nondiff(o, np.bitwise_or, "|", True)

    def __xor__(self, o):
        return self._nondiff(o, np.bitwise_xor, "^")

    def __rxor__(self, o):
        return self._nondiff(o, np.bitwise_xor, "^", True)

    def __mod__(self, o):
        return self._nondiff(o, np.remainder, "%")

    def __rmod__(self, o):
        return self._nondiff(o, np.remainder, "%", True)

    def __floordiv__(self, o):
        return self._nondiff(o, np.floor_divide, "//")

    def __rfloordiv__(self, o):
        return self._nondiff(o, np.floor_divide, "//", True)

    def __invert__(self) -> Tensor:
        """Logical not of a bool tensor (bitwise not of an integer one): ``~mask``."""
        if _is_float(self.dtype):
            raise TypeError(f"~ is only defined for bool and integer tensors, got dtype {self.dtype}")
        return Tensor._wrap(np.invert(self._data))

    def eq(self, o: Any) -> Tensor:
        """``self == o`` elementwise (bool), as ``torch.eq``: ``pred.eq(target.view_as(pred)).sum()``."""
        return self._compare(o, np.equal)

    def ne(self, o: Any) -> Tensor:
        return self._compare(o, np.not_equal)

    def lt(self, o: Any) -> Tensor:
        return self._compare(o, np.less)

    def le(self, o: Any) -> Tensor:
        return self._compare(o, np.less_equal)

    def gt(self, o: Any) -> Tensor:
        return self._compare(o, np.greater)

    def ge(self, o: Any) -> Tensor:
        return self._compare(o, np.greater_equal)

    def is_contiguous(self, memory_format: Any = None) -> builtins.bool:
        """Whether the elements are stored row-major (C order) or channels-last, the layout of
        shendu's conv and pooling outputs (row-major in PyTorch): then ``contiguous()`` is self."""
        a = self._data
        return a.flags.c_contiguous or (
            a.ndim >= 3 and a.transpose(0, *range(2, a.ndim), 1).flags.c_contiguous
        )

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """Write ``value`` where the bool ``mask`` is True, in place."""
        m = array_of(mask)  # a GPU mask stays there
        if m.dtype != np.bool_:
            raise TypeError(f"masked_fill_: mask must be a bool tensor, got dtype {m.dtype}")
        v = value.item() if isinstance(value, Tensor) else value
        return self._inplace("masked_fill_", lambda a, mm: np.where(mm, a.dtype.type(v), a), m, value=v)

    def any(self) -> Tensor:
        return Tensor._wrap(self._data.any())

    def all(self) -> Tensor:
        return Tensor._wrap(self._data.all())

    # ---- methods computed by ops ----------------------------------------------------------
    # Every method below computes through a differentiable op of ``shendu.ops``; the ops package
    # attaches them (``shendu/ops/tensor_methods.py: METHODS``), so this module never imports ops.
    # These declarations only tell type checkers and readers the signatures; a test checks that
    # this list and ``METHODS`` name the same methods.
    if TYPE_CHECKING:
        T: Tensor
        mT: Tensor

        def __add__(self, o: Any) -> Tensor: ...
        def __radd__(self, o: Any) -> Tensor: ...
        def __sub__(self, o: Any) -> Tensor: ...
        def __rsub__(self, o: Any) -> Tensor: ...
        def __mul__(self, o: Any) -> Tensor: ...
        def __rmul__(self, o: Any) -> Tensor: ...
        def __truediv__(self, o: Any) -> Tensor: ...
        def __rtruediv__(self, o: Any) -> Tensor: ...
        def __pow__(self, o: Any) -> Tensor: ...
        def __rpow__(self, o: Any) -> Tensor: ...
        def __matmul__(self, o: Any) -> Tensor: ...
        def __rmatmul__(self, o: Any) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def add(self, other: Any, alpha: Any = 1) -> Tensor: ...
        def sub(self, other: Any, alpha: Any = 1) -> Tensor: ...
        def mul(self, other: Any) -> Tensor: ...
        def div(self, other: Any) -> Tensor: ...
        def neg(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def _record_inplace(self, name: str, *args: Any, **kw: Any) -> Tensor: ...
        def __iadd__(self, o: Any) -> Tensor: ...
        def __isub__(self, o: Any) -> Tensor: ...
        def __imul__(self, o: Any) -> Tensor: ...
        def __itruediv__(self, o: Any) -> Tensor: ...
        def __getitem__(self, idx: Any) -> Tensor: ...
        def clone(self) -> Tensor: ...
        def to(self, *args: Any, **kwargs: Any) -> Tensor: ...
        def cpu(self) -> Tensor: ...
        def cuda(self, device: Any = None, non_blocking: builtins.bool = False) -> Tensor: ...
        def float(self) -> Tensor: ...
        def double(self) -> Tensor: ...
        def long(self) -> Tensor: ...
        def int(self) -> Tensor: ...
        def bool(self) -> Tensor: ...
        def type(self, dtype: Any) -> Tensor: ...
        def matmul(self, o: Any) -> Tensor: ...
        def pow(self, o: Any) -> Tensor: ...
        def exp(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def maximum(self, o: Any) -> Tensor: ...
        def minimum(self, o: Any) -> Tensor: ...
        def clip(self, min: Any = None, max: Any = None) -> Tensor: ...
        def clamp(self, min: Any = None, max: Any = None) -> Tensor: ...
        def sum(self, dim: Any = None, keepdim: builtins.bool = False, **kw: Any) -> Tensor: ...
        def mean(self, dim: Any = None, keepdim: builtins.bool = False, **kw: Any) -> Tensor: ...
        def max(self, dim: Any = None, keepdim: builtins.bool = False, **kw: Any) -> Any: ...
        def min(self, dim: Any = None, keepdim: builtins.bool = False, **kw: Any) -> Any: ...
        def amax(self, dim: Any = None, keepdim: builtins.bool = False, **kw: Any) -> Tensor: ...
        def amin(self, dim: Any = None, keepdim: builtins.bool = False, **kw: Any) -> Tensor: ...
        def argmax(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor: ...
        def argmin(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor: ...
        def var(
            self, dim: Any = None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, **kw: Any
        ) -> Tensor: ...
        def std(
            self, dim: Any = None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, **kw: Any
        ) -> Tensor: ...
        def reshape(self, *shape: Any) -> Tensor: ...
        def view(self, *shape: Any) -> Tensor: ...
        def view_as(self, other: Tensor) -> Tensor: ...
        def contiguous(self, memory_format: Any = None) -> Tensor: ...
        def permute(self, *dims: Any) -> Tensor: ...
        def transpose(self, dim0: builtins.int = -2, dim1: builtins.int = -1) -> Tensor: ...
        def t(self) -> Tensor: ...
        def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor: ...
        def squeeze(self, dim: Any = None) -> Tensor: ...
        def unsqueeze(self, dim: builtins.int) -> Tensor: ...
        def expand(self, *shape: Any) -> Tensor: ...
        def broadcast_to(self, *shape: Any) -> Tensor: ...
        def expand_as(self, other: Tensor) -> Tensor: ...
        def topk(
            self, k: builtins.int, dim: builtins.int = -1, largest: Any = True, sorted: Any = True
        ) -> tuple[Tensor, Tensor]: ...
        def masked_fill(self, mask: Any, value: Any) -> Tensor: ...
        def repeat(self, *sizes: Any) -> Tensor: ...
        def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]: ...
        def split(self, split_size_or_sections: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]: ...
        def mm(self, o: Tensor) -> Tensor: ...
        def bmm(self, o: Tensor) -> Tensor: ...
        def relu(self) -> Tensor: ...
        def sigmoid(self) -> Tensor: ...
        def tanh(self) -> Tensor: ...
        def softmax(self, dim: builtins.int) -> Tensor: ...
        def log_softmax(self, dim: builtins.int) -> Tensor: ...

    def __pos__(self) -> Tensor:
        return self

    # ---- printing -------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(_backend.to_host(self._data), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.device != CPU:
            extras.append(f"device='{self.device}'")
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype=shendu.{self.dtype.name}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _operand(t: Tensor, o: Tensor, name: str) -> Any:
    """``o``'s array for an op with ``t``: on ``t``'s device; a 0-d CPU tensor moves there as a
    number would (PyTorch's rule), any other tensor on another device is an error."""
    arr = o._data
    if type(arr) is type(t._data):
        return arr
    dt, do = t.device, o.device
    if dt == do:
        return arr
    if do == CPU and arr.ndim == 0:
        return _backend.like(t._data, arr)
    raise device_mismatch(name, dt, do)


def _array_arg(t: Tensor, o: Any) -> Any:
    """A list operand of an in-place op as an array on ``t``'s device (numbers stay numbers)."""
    return _backend.like(t._data, np.asarray(o)) if isinstance(o, (list, tuple)) else o


def _is_basic_index(idx: Any) -> builtins.bool:
    """Ints, slices, None and ``...`` only: ``x[idx]`` is a view (PyTorch writes ``x[idx] = v``
    through it); an index with arrays or tensors is not."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(p is None or p is Ellipsis or isinstance(p, (builtins.int, slice)) for p in parts)


def _index_arrays(idx: Any, like: Any = None) -> Any:
    """An index with its tensors as arrays (on ``like``'s device, where the indexed array lives)."""
    if isinstance(idx, tuple):
        return tuple(_index_arrays(i, like) for i in idx)
    if isinstance(idx, Tensor):
        return idx._data if like is None else _backend.to_device(idx._data, _backend.device_of(like))
    return idx


# ---- construction -------------------------------------------------------------------


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested list, ndarray or Tensor),
    on ``device`` (default: where ``data`` is, the CPU for Python and NumPy data).

    Python floats become float32 and ints int64, as in PyTorch; an ndarray keeps its dtype.

    >>> import shendu, numpy as np
    >>> shendu.tensor([1.5, 2]).dtype, shendu.tensor(np.zeros(2)).dtype, shendu.tensor([1, 2]).dtype
    (dtype('float32'), dtype('float64'), dtype('int64'))
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (no copy)."""
    return Tensor._wrap(arr)


def as_tensor(x: Any, like: Tensor | None = None, dtype: Any = None, device: Any = None) -> Tensor:
    """``x`` if it is a Tensor (on ``device``/``dtype`` if given), else a constant tensor of it.

    A number next to a tensor ``like`` gets ``like``'s float dtype and lives on ``like``'s device.
    """
    if dtype is not None or device is not None:
        return as_tensor(x, like).to(device=device, dtype=dtype)
    if isinstance(x, Tensor):
        return x
    if _backend.is_array(x):
        return Tensor._wrap(x)
    if like is not None and isinstance(x, numbers.Number) and not isinstance(x, bool):
        if _is_float(like.dtype):
            return Tensor._wrap(_backend.like(like._data, np.asarray(x, dtype=like.dtype)))
        if isinstance(x, numbers.Integral):
            dtype = like.dtype if like.dtype != bool_ else int64
            return Tensor._wrap(_backend.like(like._data, np.asarray(x, dtype=dtype)))
    return Tensor(x)


def array_of(x: Any) -> Any:
    """The array behind ``x``: a Tensor's own (on its device, no copy), a NumPy or GPU array as it
    is, anything else (numbers, lists) through ``np.asarray``."""
    if isinstance(x, Tensor):
        return x._data
    return x if _backend.is_array(x) else np.asarray(x)


def result_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """Type promotion as PyTorch: float beats int (float32 + int64 -> float32); else NumPy's rule."""
    fa, fb = _is_float(a), _is_float(b)
    if fa != fb:
        return a if fa else b
    return np.result_type(a, b)


def binary_operands(a: Any, b: Any, true_divide: builtins.bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of a common dtype (only non-float, gradient-free ones are converted)."""
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = as_tensor(b, like=a)
    dtype = result_dtype(a.dtype, b.dtype)
    if a.dtype != b.dtype and (a.ndim == 0) != (b.ndim == 0) and _is_float(a.dtype) and _is_float(b.dtype):
        # PyTorch: a 0-d tensor of the same kind does not promote a dimensioned one
        # (float32 (N,) × float64 0-d -> float32), so a stray double scalar keeps float32 float32.
        dtype = b.dtype if a.ndim == 0 else a.dtype
        a, b = a.to(dtype), b.to(dtype)
    if true_divide and not _is_float(dtype):
        dtype = DEFAULT_FLOAT
    if a.dtype != dtype and not _is_float(a.dtype):
        a = Tensor._wrap(a._data.astype(dtype))
    if b.dtype != dtype and not _is_float(b.dtype):
        b = Tensor._wrap(b._data.astype(dtype))
    return a, b


def _size(size: Sequence) -> tuple[builtins.int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _new(arr: np.ndarray, dtype: Any, requires_grad: builtins.bool, device: Any = None) -> Tensor:
    """A tensor of the host array ``arr`` (cast to ``dtype``), moved to ``device`` if one is given.

    Random draws are made on the host, so a seed gives the same numbers on every device.
    """
    arr = arr.astype(np.dtype(dtype) if dtype is not None else arr.dtype, copy=False)
    if device is not None:
        arr = _backend.to_device(arr, as_device(device))
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def _filled(shape: tuple[builtins.int, ...], dtype: Any, device: Any, value: Any) -> np.ndarray:
    """An array of ``shape`` filled with ``value``, made directly on ``device`` (no host copy)."""
    return _backend.full(shape, value, np.dtype(dtype), CPU if device is None else as_device(device))


def zeros(
    *size: builtins.int, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    return _new(_filled(_size(size), dtype or DEFAULT_FLOAT, device, 0), None, requires_grad)


def ones(
    *size: builtins.int, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
) -> Tensor:
    """A tensor of ones (float32 unless ``dtype`` says otherwise)."""
    return _new(_filled(_size(size), dtype or DEFAULT_FLOAT, device, 1), None, requires_grad)


def full(
    size: Sequence[builtins.int] | int,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value (float -> float32)."""
    size = (size,) if isinstance(size, int) else tuple(size)
    dtype = dtype or _default_dtype(np.asarray(fill_value))
    return _new(_filled(size, np.dtype(dtype), device, fill_value), None, requires_grad)


def zeros_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
) -> Tensor:
    """Zeros of ``t``'s shape, dtype and device (unless ``dtype``/``device`` say otherwise)."""
    return _new(_filled(t.shape, dtype or t.dtype, device or t.device, 0), None, requires_grad)


def ones_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
) -> Tensor:
    """Ones of ``t``'s shape, dtype and device (unless ``dtype``/``device`` say otherwise)."""
    return _new(_filled(t.shape, dtype or t.dtype, device or t.device, 1), None, requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else float32.

    >>> import shendu
    >>> shendu.arange(3).tolist(), shendu.arange(0, 1, 0.5).tolist()
    ([0, 1, 2], [0.0, 0.5])
    """
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    return _new(arr, dtype or _default_dtype(arr), requires_grad, device)


def linspace(
    start: builtins.float,
    end: builtins.float,
    steps: builtins.int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    return _new(np.linspace(start, end, steps), dtype or DEFAULT_FLOAT, requires_grad, device)


def eye(
    n: builtins.int,
    m: builtins.int | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """The n×m identity matrix."""
    return _new(np.eye(n, m, dtype=dtype or DEFAULT_FLOAT), None, requires_grad, device)


def _random_size(size: tuple, keyword: Any, who: str) -> tuple[builtins.int, ...]:
    if keyword is not None:
        if size:
            raise TypeError(f"{who}: give the size either positionally or as size=, not both")
        size = (keyword,) if isinstance(keyword, (builtins.int, np.integer)) else tuple(keyword)
    return _size(size)


def rand(
    *size: builtins.int,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
    **kw: Any,
) -> Tensor:
    """Uniform samples in [0, 1) from ``generator`` or the library's generator (see ``manual_seed``)."""
    gen = _random.numpy_generator(generator, "rand")
    arr = gen.random(_random_size(size, kw.pop("size", None), "rand"), dtype=np.float64)
    _no_extra(kw, "rand")
    return _new(arr, dtype or DEFAULT_FLOAT, requires_grad, device)


def randn(
    *size: builtins.int,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
    **kw: Any,
) -> Tensor:
    """Standard normal samples N(0, 1) from ``generator`` or the library's generator.

    >>> import shendu
    >>> shendu.randn(2, 3).shape == shendu.randn(size=(2, 3)).shape == (2, 3)
    True
    """
    gen = _random.numpy_generator(generator, "randn")
    arr = gen.standard_normal(_random_size(size, kw.pop("size", None), "randn"))
    _no_extra(kw, "randn")
    return _new(arr, dtype or DEFAULT_FLOAT, requires_grad, device)


def _no_extra(kw: dict, who: str) -> None:
    if kw:
        raise TypeError(f"{who}() got unexpected keyword arguments {sorted(kw)}")


def randint(
    low: builtins.int,
    high: builtins.int | None = None,
    size: Sequence[builtins.int] = (),
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Integers uniformly drawn from [low, high) (int64)."""
    if high is None:
        low, high = 0, low
    arr = _random.numpy_generator(generator, "randint").integers(low, high, size=tuple(size))
    return _new(np.asarray(arr), dtype or int64, False, device)


def randperm(n: builtins.int, generator: Any = None, dtype: Any = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n−1 (int64)."""
    perm = _random.numpy_generator(generator, "randperm").permutation(n)
    return _new(perm, dtype or int64, False, device)


def empty(*size: builtins.int, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """A new tensor of the given size (filled with zeros: NumPy gives no cheaper safe memory)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def isclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: Any = False) -> Tensor:
    """``|a − b| ≤ atol + rtol·|b|`` elementwise (bool), as ``torch.isclose``."""
    close = np.isclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, equal_nan=equal_nan)
    return Tensor._wrap(np.asarray(close))


def allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: Any = False) -> builtins.bool:
    """True when every element of ``a`` is close to ``b`` (see :func:`isclose`), as ``torch.allclose``."""
    return builtins.bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a: Any, b: Any) -> builtins.bool:
    """True when ``a`` and ``b`` have the same shape and the same elements, as ``torch.equal``."""
    x, y = np.asarray(a), np.asarray(b)
    return x.shape == y.shape and builtins.bool(np.array_equal(x, y))
