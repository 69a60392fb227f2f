"""Run under mpiexec: every collective checked on every rank against values computed locally,
on the device $SHENDU_WORKER_DEVICE names (see common.device_from_env)."""

import numpy as np


def main() -> None:
    import common

    import shendu
    import shendu.distributed as dist

    where = common.device_from_env()

    kind = common.backend_from_env()
    dist.init_process_group(backend=kind)
    rank, world = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and dist.get_backend() == kind
    nccl = kind == "nccl" and where == "cuda"  # GPU tensors then go by NCCL, host ones by MPI
    ranks = np.arange(world, dtype=np.float64)

    t = shendu.tensor([1.0, 2.0], dtype=shendu.float64, device=where) * (rank + 1)
    dist.all_reduce(t)
    assert t.device.type == where
    np.testing.assert_array_equal(t.cpu().numpy(), np.array([1.0, 2.0]) * (ranks + 1).sum())

    for op, expected in [
        (dist.ReduceOp.MAX, ranks.max()),
        (dist.ReduceOp.MIN, ranks.min()),
        (dist.ReduceOp.PRODUCT, np.prod(ranks + 1)),
        (dist.ReduceOp.AVG, ranks.mean()),
    ]:
        t = shendu.full((3,), float(rank + (op is dist.ReduceOp.PRODUCT))).to(where)
        dist.all_reduce(t, op=op)
        np.testing.assert_allclose(t.cpu().numpy(), expected)
        assert t.dtype == shendu.float32

    flags = shendu.tensor([1 << rank], device="cpu" if nccl else where)  # int64: or of one bit per rank
    dist.all_reduce(flags, op=dist.ReduceOp.BOR)
    assert flags.item() == (1 << world) - 1

    votes = shendu.tensor([rank == 0, True], device=where)  # bool: SUM is "or", PRODUCT is "and"
    dist.all_reduce(votes)
    assert votes.tolist() == [True, True]
    votes = shendu.tensor([rank == 0, True], device=where)
    dist.all_reduce(votes, op=dist.ReduceOp.PRODUCT)
    assert votes.tolist() == [world == 1, True]

    # a non-contiguous view: the result lands in the tensor (and its base) all the same
    base = shendu.arange(6, dtype=shendu.float64).to(where).reshape(2, 3) * (rank + 1)
    view = base.T
    dist.broadcast(view, src=world - 1)
    np.testing.assert_array_equal(view.cpu().numpy(), np.arange(6.0).reshape(2, 3).T * world)
    np.testing.assert_array_equal(base.cpu().numpy(), np.arange(6.0).reshape(2, 3) * world)

    gathered = [shendu.zeros(2, dtype=shendu.int64).to(where) for _ in range(world)]
    dist.all_gather(gathered, shendu.tensor([rank, 10 * rank], device=where))
    assert [g.tolist() for g in gathered] == [[r, 10 * r] for r in range(world)]
    assert all(g.device.type == where for g in gathered)

    work = dist.all_reduce(shendu.ones(4).to(where), async_op=True)
    assert work.wait() and work.is_completed()

    cases = [
        (lambda: dist.broadcast(shendu.ones(1), src=world), f"src must be a rank in \\[0, {world - 1}\\]"),
        (lambda: dist.all_gather([shendu.ones(1)] * (world + 1), shendu.ones(1)), f"world_size={world} "),
        (lambda: dist.all_reduce(shendu.ones(1, dtype=shendu.int64), op=dist.ReduceOp.AVG), "floating-point"),
        (lambda: dist.init_process_group(), "twice"),
    ]
    if nccl:
        bor, int16 = dist.ReduceOp.BOR, shendu.from_numpy(np.ones(2, np.int16)).to(where)
        cases += [
            (lambda: dist.all_reduce(shendu.tensor([1], device=where), op=bor), "NCCL has no bitwise"),
            (lambda: dist.broadcast(int16), "NCCL has no int16 type"),
        ]
    for call, message in cases:
        try:
            call()
        except (ValueError, TypeError, RuntimeError) as e:
            import re

            assert re.search(message, str(e)), (message, str(e))
        else:
            raise AssertionError(f"no error for {message}")

    calls = common.nccl_calls(where)
    if nccl and calls:  # the stand-in: each GPU collective above was one NCCL call, none a host copy
        assert calls[0] == ("init", world, rank), calls[0]
        kinds = [c[0] for c in calls]
        assert (kinds.count("allReduce"), kinds.count("bcast"), kinds.count("allGather")) == (8, 1, 1), kinds

    dist.barrier()
    dist.destroy_process_group()
    assert not common.nccl_calls(where) or common.nccl_calls(where)[-1] == ("destroy",)
    assert not dist.is_initialized()
    print(f"ok rank {rank} of {world}", flush=True)


if __name__ == "__main__":
    main()
