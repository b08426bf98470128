"""The old home of ``edgebind bench``; kept so that existing imports work. The measurement is
``edgebind.tools.bench`` (its worker processes ``edgebind.tools.bench_worker``), the command line
``edgebind.tools.cli``."""
from edgebind.tools.bench import measure_bundle, print_summary, tower_gflops
from edgebind.tools.bench_worker import HELD_OUT, gemm_rate, worker
from edgebind.tools.cli import add_bench_arguments as add_arguments
from edgebind.tools.cli import run_bench as run

__all__ = ["HELD_OUT", "add_arguments", "gemm_rate", "measure_bundle", "print_summary", "run",
           "tower_gflops", "worker"]
