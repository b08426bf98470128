"""Several processes through ``torch.distributed`` (launched by ``torchrun``): rank, world size,
process group and the DDP wrapper. Single-process runs need none of it."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def from_env() -> DistInfo:
    """torchrun sets RANK, WORLD_SIZE, LOCAL_RANK (and MASTER_ADDR/PORT)."""
    return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                    int(os.environ.get("LOCAL_RANK", 0)))


def init(backend: str | None = None) -> DistInfo:
    """Join the process group when launched with several processes; gloo on CPU, nccl on GPU."""
    import torch
    import torch.distributed as dist

    info = from_env()
    if info.active and not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return info


def wrap(task, info: DistInfo):
    """DDP over the task's trainable parameters (frozen ones are left out by DDP itself)."""
    if not info.active:
        return task
    from torch.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(task, find_unused_parameters=False)


def barrier(info: DistInfo) -> None:
    if info.active:
        import torch.distributed as dist
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.active:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()
