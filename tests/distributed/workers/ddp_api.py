"""Run under mpiexec (2 ranks): no_sync, unused parameters, a model that differs across ranks; the
models on the device $SHENDU_WORKER_DEVICE names (see common.device_from_env)."""

import re

import numpy as np


def expect_error(kind, pattern, call):
    try:
        call()
    except kind as e:
        assert re.search(pattern, str(e)), (pattern, str(e))
    else:
        raise AssertionError(f"no {kind.__name__} matching {pattern!r}")


def grads(model):
    return [p.grad.cpu().numpy().copy() for p in model.parameters()]


def main() -> None:
    import common

    import shendu
    import shendu.distributed as dist
    from shendu import nn
    from shendu.nn.parallel import DistributedDataParallel as DDP

    where = common.device_from_env()
    dist.init_process_group(backend=common.backend_from_env(), timeout=20)
    rank, world = dist.get_rank(), dist.get_world_size()
    shendu.manual_seed(0)
    x = [shendu.randn(3, 5, dtype=shendu.float64).to(where) * (r + 1) for r in range(2 * world)]  # all alike

    # no_sync: two local backwards, then a synchronised one: the sum of all three, averaged over ranks
    model = nn.Linear(5, 2).double().to(where)
    ddp = DDP(model)
    with ddp.no_sync():
        ddp(x[rank]).sum().backward()
        ddp(x[rank] * 2).sum().backward()
    ddp(x[rank] * 3).sum().backward()
    local = nn.Linear(5, 2).double().to(where)
    local.load_state_dict(model.state_dict())
    for r in range(world):
        for scale in (1, 2, 3):
            (local(x[r] * scale).sum() / world).backward()
    for got, want in zip(grads(model), grads(local), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)

    # a forward with gradients on but no backward (an evaluation): allowed, as in PyTorch
    ddp = DDP(nn.Linear(5, 2).double().to(where))
    ddp(x[0])
    ddp(x[rank]).sum().backward()
    np.testing.assert_allclose(
        ddp.module.weight.grad.cpu().numpy()[0], sum(x[r].cpu().numpy().sum(0) for r in range(world)) / world
    )

    # an unused parameter: PyTorch's error at the next forward, or averaging with find_unused_parameters
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(5, 1).double()
            self.b = nn.Linear(5, 1).double()

        def forward(self, x, use_b):
            return self.b(x) if use_b else self.a(x)

    ddp = DDP(TwoHeads().to(where))
    ddp(x[0], False).sum().backward()
    expect_error(
        RuntimeError, "parameters that got no gradient on rank .*: b.weight, b.bias", lambda: ddp(x[0], False)
    )
    net = TwoHeads().to(where)
    ddp = DDP(net, find_unused_parameters=True)
    ddp(x[rank], rank == 1).sum().backward()  # rank 0 uses a, rank 1 uses b
    for head, r in ((net.a, 0), (net.b, 1)):
        want = x[r].cpu().numpy().sum(0, keepdims=True) / world
        np.testing.assert_allclose(head.weight.grad.cpu().numpy(), want)
    assert net.a.weight.grad.device.type == where
    net.zero_grad()
    ddp(x[rank], False).sum().backward()  # nobody uses b: its .grad stays None, as in PyTorch
    assert net.b.weight.grad is None and net.a.weight.grad is not None

    # the model must be the same on every rank: each rank gets the same, named error
    wrong = nn.Sequential(nn.Linear(5, 4 if rank == 0 else 3), nn.Linear(4 if rank == 0 else 3, 2))
    expect_error(
        ValueError,
        r"differs across ranks.*rank 1 has parameter '0.weight' of shape \(3, 5\) .* rank 0 has parameter "
        r"'0.weight' of shape \(4, 5\)",
        lambda: DDP(wrong),
    )
    extra = nn.Sequential(*[nn.Linear(2, 2) for _ in range(1 + rank)])
    expect_error(ValueError, "rank 1 has 4 parameters and buffers, rank 0 has 2", lambda: DDP(extra))

    expect_error(
        ValueError,
        r"device_ids=\[0\] must be None or the model.s device \(cpu",
        lambda: DDP(nn.Linear(2, 2), device_ids=[0]),
    )
    dist.destroy_process_group()
    print(f"ok rank {rank}", flush=True)


if __name__ == "__main__":
    main()
