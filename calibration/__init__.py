"""The calibration CLI and its algorithms (imported as ``edgebind.calibration``).

One module per job, each with pure numpy functions and the command's ``add_arguments``/``run``:
``imu``, ``camera``, ``sync``, ``thermal``, ``audio``, ``thresholds``, ``quant``; ``cli`` is
``edgebind-calibrate`` / ``edgebind calibrate``. The profile they write is
:mod:`edgebind.profile` (the daemon reads it from there, never from here). See
docs/calibration.md.
"""
