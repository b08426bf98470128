"""Device-side inference: bundles and encoders (no torch needed)."""
from edgebind.runtime.bundle import Bundle, load_bundle, sha256_file
from edgebind.runtime.encoder import Encoder, InputError
from edgebind.runtime.manifest import BundleError, Manifest

__all__ = ["Bundle", "BundleError", "Encoder", "InputError", "Manifest", "load_bundle",
           "sha256_file"]
