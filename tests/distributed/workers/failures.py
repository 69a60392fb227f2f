"""Run under mpiexec: rank 1 fails in the way named by argv[1]; rank 0 goes on to a collective."""

import os
import sys
import time


def main(mode: str) -> None:
    import shendu
    import shendu.distributed as dist

    dist.init_process_group(backend="mpi", timeout=2.0)
    if dist.get_rank() == 1:
        if mode == "exit":  # leaves without a word: rank 0 waits in all_reduce until the deadline
            sys.exit(0)
        if mode == "hang":
            time.sleep(60)
        if mode == "raise":
            raise ValueError("a bug on rank 1")
        if mode == "kill":
            os.kill(os.getpid(), 9)
    dist.all_reduce(shendu.ones(3))
    print("rank 0 finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
