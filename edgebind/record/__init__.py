"""MCAP recording and replay of sensor Samples (see README.md in this folder for the format).

:class:`RecordingWriter` writes a file, :func:`open_recording` opens one as a
:class:`RecordingReader`; ``Recorder`` and ``Replay`` are their former names."""
from edgebind.record.limits import ReadLimits
from edgebind.record.reader import (ChannelStats, RecordingError, RecordingReader, Replay,
                                    Summary, open_recording)
from edgebind.record.scan import Lost
from edgebind.record.writer import Recorder, RecordingWriter
from edgebind.sample import Sample, StreamInfo

__all__ = ["ChannelStats", "Lost", "ReadLimits", "Recorder", "RecordingError", "RecordingReader",
           "RecordingWriter", "Replay", "Sample", "StreamInfo", "Summary", "open_recording"]
