"""MCAP recording and replay of sensor Samples (see README.md in this folder for the format)."""
from edgebind.record.limits import ReadLimits
from edgebind.record.reader import (ChannelStats, RecordingError, Replay, Summary,
                                    open_recording)
from edgebind.record.scan import Lost
from edgebind.record.writer import Recorder
from edgebind.sample import Sample, StreamInfo

__all__ = ["ChannelStats", "Lost", "ReadLimits", "Recorder", "RecordingError", "Replay",
           "Sample", "StreamInfo", "Summary", "open_recording"]
