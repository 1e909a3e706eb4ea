"""The committed synthetic calibration manifest still describes what the generator renders."""

import json
import os

from edgeseg.meta import ModelMeta
from edgeseg.quantize.calibration import build_calibration_set

MANIFEST = os.path.join(os.path.dirname(__file__), "..", "..", "calibration", "synthetic-street-256.json")


def test_manifest_fingerprint_is_reproduced():
    m = json.load(open(MANIFEST))
    meta = ModelMeta(model="any", classes=tuple(m["classes"]), input_size=tuple(m["input_size"]))
    calib = build_calibration_set(m["source"], meta, m["num"], seed=m["seed"], file=None)
    assert len(calib) == m["num"]
    # A changed fingerprint means every INT8 figure in the docs was made on other data:
    # re-measure them, then update the manifest.
    assert calib.fingerprint() == m["fingerprint"]
