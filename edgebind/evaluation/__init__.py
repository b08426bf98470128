"""ImageBind's emergent zero-shot table for a bundle, on held-out simulated data (``edgebind eval``;
the default recipe records it beside the shipped model).

Torch-free (bundle + ONNX Runtime + numpy). For each sensor modality: zero-shot top-1 by text
prompts (the sensor towers were bound to vision, never to text), chance, a linear-probe
reference (multinomial logistic regression on the same frozen embeddings, trained to convergence
on a second simulated set: what a supervised linear classifier gets from them), the ratio of the
two, and cross-modal retrieval R@1 / R@10 to vision; plus vision -> text top-1 and embedding
arithmetic (vision + audio embedding retrieves scenes holding both events).

A prediction counts as correct when it names an event active in the window (windows may hold
two overlapping events), so chance is the mean number of active events per window over the
number of events (``chance``), a little above one over it (``chance_uniform``). Seeds: the
default model trains on seeds >= 1000; eval uses ``--seed`` (default 7) for the test set and
``seed + 1`` for the probe's training set.

``metrics`` (pure numpy), ``report`` (goals, published tables), ``bundle`` (a bundle's run).
"""
from edgebind.evaluation.bundle import (DEFAULT_SEED, BundleEmbedder, anchors_from_file,
                                        evaluate_bundle, text_anchors)
from edgebind.evaluation.metrics import (SENSORS, chance, embedding_arithmetic,
                                         evaluate_embeddings, event_retrieval, hit_rate,
                                         normalize, phrasing_report, retrieval_recall,
                                         zero_shot_predictions)
from edgebind.evaluation.report import (INT8_COLUMNS, MODALITY_COLUMNS, VISION_TO_TEXT, goals,
                                        markdown, table_value)

__all__ = ["DEFAULT_SEED", "INT8_COLUMNS", "MODALITY_COLUMNS", "SENSORS", "VISION_TO_TEXT",
           "BundleEmbedder", "anchors_from_file", "chance", "embedding_arithmetic",
           "evaluate_bundle", "evaluate_embeddings", "event_retrieval", "goals", "hit_rate",
           "markdown", "normalize", "phrasing_report", "retrieval_recall", "table_value",
           "text_anchors", "zero_shot_predictions"]
