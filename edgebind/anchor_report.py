"""Old home of the anchor report; it lives in :mod:`edgebind.anchors.report`."""
from edgebind.anchors.report import (CLOSE_COSINE, AnchorFindings, build_report, format_report,
                                     nearest_anchors, prompt_findings, text_findings, too_close)

__all__ = ["CLOSE_COSINE", "AnchorFindings", "build_report", "format_report", "nearest_anchors",
           "prompt_findings", "text_findings", "too_close"]
