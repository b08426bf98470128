"""Inference backends behind ``edgebind.runtime.Encoder``. Each is imported only when used."""
