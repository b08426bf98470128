"""The calibration CLI and its algorithms (imported as ``edgebind.calibration``)."""
