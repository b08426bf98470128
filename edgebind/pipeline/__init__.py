"""The detection pipeline: sources → window assembler → bounded queue → batched encoders →
detector → sinks, with per-stage latency.

Two ways to drive it:

* **live** (``start()``/``stop()``): each source's capture thread pushes samples into the window
  assembler (a short lock, never inference); a poll thread moves complete windows into a bounded
  queue that drops the *oldest* window under overload and counts every drop; one inference
  worker batches the queued windows per modality, embeds them, runs the detector and hands the
  events to the sinks.
* **synchronous** (``run_sync()``): iterate samples (a recording, the simulated world), assemble
  and process inline, as fast as possible and deterministic. ``edgebind demo`` and the tests use
  it.

Torch-free: embeddings come from ``edgebind.Embedder.from_bundle`` (ONNX Runtime / TensorRT).

Modules: ``core`` (the ``Pipeline``: construction, threads, synchronous driver, reload),
``config`` (``PipelineConfig`` and its limits), ``build`` (what a pipeline is built from,
checked), ``windowing`` (assembly, warm-up, job collection), ``queue`` (``DropOldestQueue``),
``stages`` (embed a batch; detect and emit), ``threads``, ``metrics`` (``Histogram``,
``Counters``, ``metrics()``), ``health`` (stream health, findings, progressing) and
``recorder`` (``record_world``: every window's embeddings, for tuning detectors).
"""
from edgebind.pipeline.config import (INTEGER_KEYS, LIMITS, PipelineConfig, expected,
                                      model_windows, within)
from edgebind.pipeline.core import Pipeline, merge_samples
from edgebind.pipeline.metrics import LATENCY_BUCKETS_S, STAGES, Counters, Histogram
from edgebind.pipeline.queue import DropOldestQueue
from edgebind.pipeline.stages import Job, WindowResult

__all__ = ["INTEGER_KEYS", "LATENCY_BUCKETS_S", "LIMITS", "STAGES", "Counters", "DropOldestQueue",
           "Histogram", "Job", "Pipeline", "PipelineConfig", "WindowResult", "expected",
           "merge_samples", "model_windows", "within"]
