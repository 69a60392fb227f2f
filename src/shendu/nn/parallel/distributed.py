"""DistributedDataParallel (数据并行): the same model on every rank, each rank a slice of the batch.

Every rank runs forward and backward on its own mini-batch of ``B`` samples; DDP then replaces
each gradient by its average over the ``R`` ranks, so every rank takes the same optimiser step
— the step one process would take with a batch of ``R·B`` (for a loss that is a mean over the
batch)::

    g = (1/R) Σ_r g_r,   g_r = ∇ (1/B) Σ_{i ∈ batch_r} ℓ_i   ⇒   g = ∇ (1/(R·B)) Σ_{all R·B samples} ℓ_i

How (PyTorch's design, on MPI):

- at construction rank 0's parameters and buffers are broadcast, so all ranks start equal, after
  checking that every rank holds the same parameter names, shapes and dtypes;
- parameters are grouped into *buckets* (reverse order of ``parameters()``, ≈ the order backward
  produces their gradients; 1 MB for the first, ``bucket_cap_mb`` for the others); a hook on each
  parameter (``register_post_accumulate_grad_hook``) copies its gradient into its bucket, and a
  full bucket starts a non-blocking all-reduce at once, while backward goes on with earlier layers;
  the last gradient waits for all of them and writes the averages back into ``.grad``;
- buckets are started in the same order on every rank (MPI requires it), and every wait has the
  process group's deadline, so a rank that took another path makes the others fail, not hang;
- a model on a GPU keeps its buckets there; each all-reduce goes through host memory (copied
  down, summed by MPI, copied back up), as PyTorch's Gloo backend does: no NCCL yet;
- buffers (BatchNorm's running statistics) are broadcast from rank 0 before each training forward
  (``broadcast_buffers=True``). Batch statistics stay per rank: each BatchNorm normalises by its own
  rank's mini-batch, not by the global batch of ``R·B`` samples, as PyTorch's DDP does (use
  ``SyncBatchNorm`` there; shendu has none).

``no_sync()`` skips the averaging (gradients accumulate locally) until the first backward after it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from shendu import backend
from shendu import distributed as dist
from shendu.autograd.function import Function
from shendu.autograd.grad_mode import is_grad_enabled
from shendu.device import CPU, as_device
from shendu.distributed import collectives
from shendu.nn.modules.module import Module
from shendu.nn.parameter import Parameter
from shendu.tensor import Tensor

FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's first bucket: small, so communication starts early


class _Bucket:
    """Some parameters' gradients in one flat array, all-reduced together."""

    def __init__(self, params: list[tuple[int, Parameter]]) -> None:
        self.indices = [i for i, _ in params]
        sizes = [p.numel() for _, p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        first = params[0][1]  # on the parameters' device: gradients are copied in there
        self.flat = backend.full((self.offsets[-1],), 0, first.dtype, first.device)
        self.pending = 0
        self.work: dist.Work | None = None

    def slot(self, position: int) -> np.ndarray:
        return self.flat[self.offsets[position] : self.offsets[position + 1]]


def _buckets(params: list[Parameter], cap_bytes: int) -> list[_Bucket]:
    """Group parameters in reverse order: a bucket holds one dtype and at most ``cap_bytes``
    (the first at most ``FIRST_BUCKET_BYTES``); a parameter larger than the cap gets its own."""
    buckets: list[_Bucket] = []
    current: list[tuple[int, Parameter]] = []
    size = 0
    for i in reversed(range(len(params))):
        p = params[i]
        limit = FIRST_BUCKET_BYTES if not buckets else cap_bytes
        if current and (p.dtype != current[0][1].dtype or size + p._data.nbytes > limit):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append((i, p))
        size += p._data.nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


class _Reducer:
    """Averages the gradients of ``params`` over the ranks as backward produces them."""

    def __init__(self, names: list[str], params: list[Parameter], cap_bytes: int, world: int) -> None:
        self.names = names
        self.params = params
        self.world = world
        self.buckets = _buckets(params, cap_bytes)
        self.where = {}  # parameter index -> (bucket, position in the bucket)
        for bucket in self.buckets:
            for position, i in enumerate(bucket.indices):
                self.where[i] = (bucket, position)
        self.armed = False  # a synchronised forward ran: its backward must reduce
        self.started = False  # a gradient of the armed iteration has arrived
        self.ready = np.zeros(len(params), dtype=bool)
        self.next_bucket = 0
        self.locally_used: np.ndarray | None = None
        self.used_work: dist.Work | None = None
        self.globally_used: Tensor | None = None

    def prepare(self, unused: set[int]) -> None:
        """Before a synchronised forward's backward: reset the buckets; ``unused`` parameters
        (find_unused_parameters) count as ready with a zero gradient."""
        self.check_finished()
        self.armed = True
        self.started = False
        self.ready[:] = False
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = None
        if self.locally_used is not None:
            self.locally_used[:] = 1
            for i in unused:
                self.locally_used[i] = 0
            # which parameters some rank used: those no rank used keep their .grad (PyTorch's rule)
            self.globally_used = Tensor._wrap(self.locally_used.copy())
            self.used_work = dist.all_reduce(self.globally_used, op=dist.ReduceOp.MAX, async_op=True)
        for i in unused:
            bucket, position = self.where[i]
            bucket.slot(position)[:] = 0
            self._mark_ready(i)

    def check_finished(self) -> None:
        """PyTorch's error when the previous synchronised backward did not reduce every gradient.

        A forward with no backward after it (an evaluation with gradients on) is allowed, as in
        PyTorch: what it started (all ranks alike) is waited for and dropped.
        """
        if not self.armed:
            return
        if not self.started:
            self.armed = False
            for work in [self.used_work] + [b.work for b in self.buckets]:
                if work is not None:
                    work.wait()
            return
        missing = [self.names[i] for i in np.flatnonzero(~self.ready)]
        self.armed = False
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new one. "
            "This error indicates that your module has parameters that were not used in producing loss "
            f"(parameters that got no gradient on rank {dist.get_rank()}: {', '.join(missing)}), or that "
            "backward() was not called after a forward that requires grad. Pass "
            "find_unused_parameters=True to DistributedDataParallel, or make every parameter take part."
        )

    def hook(self, index: int) -> Any:
        def on_grad_ready(param: Tensor) -> None:
            if not self.armed:  # inside no_sync(), or a backward with no DDP forward: leave .grad local
                return
            if self.ready[index]:
                raise RuntimeError(
                    f"Expected to mark a variable ready only once: parameter {self.names[index]} got its "
                    "gradient twice in one synchronised iteration (two backward() calls after one forward?)"
                )
            self.started = True
            bucket, position = self.where[index]
            assert param.grad is not None  # the engine runs this hook after accumulating .grad
            bucket.slot(position)[:] = param.grad._data.reshape(-1)
            self._mark_ready(index)

        return on_grad_ready

    def _mark_ready(self, index: int) -> None:
        self.ready[index] = True
        bucket, _ = self.where[index]
        bucket.pending -= 1
        # start every bucket that is full, in bucket order (all ranks must start them in one order)
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            full = self.buckets[self.next_bucket]
            full.work = dist.all_reduce(Tensor._wrap(full.flat), async_op=True)
            self.next_bucket += 1
        for b in self.buckets[: self.next_bucket]:  # MPI moves data only when called: nudge it
            if b.work is not None:
                b.work.is_completed()
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _finish(self) -> None:
        """Wait for every bucket, divide by the world size, and hand the averages to ``.grad``."""
        self.armed = False
        used = None
        if self.used_work is not None and self.globally_used is not None:
            self.used_work.wait()
            used = self.globally_used._data
        for bucket in self.buckets:
            assert bucket.work is not None
            bucket.work.wait()
            np.divide(bucket.flat, self.world, out=bucket.flat)
            for position, i in enumerate(bucket.indices):
                p = self.params[i]
                if used is not None and not used[i]:
                    continue
                # a view of the bucket (PyTorch's gradient_as_bucket_view): no copy per step
                grad = bucket.slot(position).reshape(p.shape)
                if p.grad is None:
                    p.grad = Tensor._wrap(grad)
                else:
                    p.grad._data = grad


def _model_device(module: Module) -> Any:
    """The one device holding all of ``module``'s parameters and buffers (the CPU if it has none)."""
    where: dict[Any, str] = {}
    for name, t in [*module.named_parameters(), *module.named_buffers()]:
        where.setdefault(t.device, name)
    if len(where) > 1:
        found = ", ".join(f"{name} on {d}" for d, name in where.items())
        raise ValueError(
            f"DistributedDataParallel: the model must be on one device, found {found} "
            "(move it with model.to(device) first)"
        )
    return next(iter(where), CPU)


def _check_device_arg(name: str, value: Any, model_device: Any, many: bool) -> None:
    """``device_ids``/``output_device``: None, or the model's own device (an index, a device or
    its name; a list of one for ``device_ids``), as PyTorch's single-device DDP takes them."""
    if value is None or (many and isinstance(value, (list, tuple)) and not value):
        return
    items = list(value) if many and isinstance(value, (list, tuple)) else [value]
    ok = len(items) == 1 and _same_device(items[0], model_device)
    if not ok:
        raise ValueError(
            f"DistributedDataParallel: {name}={value!r} must be None or the model's device "
            f"({model_device}): shendu's DDP keeps one model on one device per process"
        )


def _same_device(item: Any, model_device: Any) -> bool:
    if isinstance(item, bool):
        return False
    try:
        d = as_device(int(item) if isinstance(item, np.integer) else item)
    except (TypeError, ValueError):
        return False
    return d.type == model_device.type and (d.index or 0) == (model_device.index or 0)


def _reachable_leaves(outputs: Any) -> set[int]:
    """ids of the leaf tensors reached by the graph behind ``outputs`` (tensors, or tuples,
    lists and dicts of them)."""
    stack: list[Any] = [outputs]
    seen: set[int] = set()
    leaves: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            if item._ctx is None:
                leaves.add(id(item))
            else:
                stack.append(item._ctx)
        elif isinstance(item, Function):
            if id(item) in seen:
                continue
            seen.add(id(item))
            for p in item.parents or ():
                if isinstance(p, Function):
                    stack.append(p)
                elif p is not None:
                    leaves.add(id(p))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return leaves


def _signature(module: Module) -> list[list[Any]]:
    """What must be the same on every rank: each parameter's and buffer's name, shape, dtype."""
    params = [["parameter", n, list(p.shape), str(p.dtype)] for n, p in module.named_parameters()]
    buffers = [["buffer", n, list(b.shape), str(b.dtype)] for n, b in module.named_buffers()]
    return params + buffers


def _verify_same_model(module: Module) -> None:
    """Raise on every rank, naming the first difference, if the ranks' models differ."""
    signatures = collectives.all_gather_json(_signature(module), "DistributedDataParallel's model check")
    reference = signatures[0]
    problems = []
    for rank, sig in enumerate(signatures[1:], start=1):
        for ours, theirs in zip(sig, reference, strict=False):
            if ours != theirs:
                kind, name, shape, dtype = ours
                problems.append(
                    f"rank {rank} has {kind} '{name}' of shape {tuple(shape)} and dtype {dtype} where rank 0 "
                    f"has {theirs[0]} '{theirs[1]}' of shape {tuple(theirs[2])} and dtype {theirs[3]}"
                )
                break
        else:
            if len(sig) != len(reference):
                problems.append(
                    f"rank {rank} has {len(sig)} parameters and buffers, rank 0 has {len(reference)}"
                )
    if problems:
        raise ValueError(
            "DistributedDataParallel: the model differs across ranks (every rank must build the same "
            "model): " + "; ".join(problems)
        )


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` leaves the rank-averaged gradients in ``.grad``.

    PyTorch's arguments. The model may be on the CPU or on one GPU (all its parameters and
    buffers on one device); ``device_ids``/``output_device`` may be None or name that device
    (``[0]`` for ``cuda:0``), as for PyTorch's single-device modules; ``process_group`` None (the
    default group). ``module`` is the wrapped model; ``state_dict()``
    keys start with ``module.`` as in PyTorch (save ``ddp.module.state_dict()`` for plain keys).
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        model_device = _model_device(module)
        _check_device_arg("device_ids", device_ids, model_device, many=True)
        _check_device_arg("output_device", output_device, model_device, many=False)
        if process_group is not None:
            raise ValueError("DistributedDataParallel: shendu has only the default process group; pass None")
        cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if not cap_mb > 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}"
            )
        self.module = module
        self.world_size = dist.get_world_size()  # PyTorch's error if no group was initialised
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        _verify_same_model(module)
        self._broadcast(list(module.parameters()) + list(module.buffers()))
        names, params = [n for n, _ in named], [p for _, p in named]
        self._reducer = _Reducer(names, params, int(cap_mb * 1024 * 1024), self.world_size)
        if self.find_unused_parameters:
            self._reducer.locally_used = np.ones(len(params), dtype=np.int32)
        if self.world_size > 1:
            for i, p in enumerate(params):
                p.register_post_accumulate_grad_hook(self._reducer.hook(i))

    @staticmethod
    def _broadcast(tensors: list[Tensor]) -> None:
        """Rank 0's values into every rank's tensors, all broadcasts in flight at once."""
        works = [dist.broadcast(t, src=0, async_op=True) for t in tensors]
        for work in works:
            work.wait()

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = self.world_size > 1 and is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            self._reducer.check_finished()
            if self.broadcast_buffers:
                self._broadcast(list(self.module.buffers()))
        out = self.module(*inputs, **kwargs)
        if sync:
            unused: set[int] = set()
            if self.find_unused_parameters:
                reached = _reachable_leaves(out)
                unused = {i for i, p in enumerate(self._reducer.params) if id(p) not in reached}
            self._reducer.prepare(unused)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards inside this block leave their gradients local (accumulating in ``.grad``);
        the first synchronised backward after it averages the accumulated sums.

        >>> # with ddp.no_sync():
        >>> #     ddp(x1).sum().backward()   # local only
        >>> # ddp(x2).sum().backward()       # averages the gradients of x1 and x2 over the ranks
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}"
