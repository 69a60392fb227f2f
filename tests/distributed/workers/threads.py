"""Run under mpiexec: print the threads each rank's kernels use after init_process_group."""

import shendu
import shendu.distributed as dist

if __name__ == "__main__":
    dist.init_process_group(backend="mpi", timeout=20)
    print(f"threads rank {dist.get_rank()}: {shendu.get_num_threads()}", flush=True)
    dist.destroy_process_group()
