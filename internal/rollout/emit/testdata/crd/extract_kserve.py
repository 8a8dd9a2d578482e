#!/usr/bin/env python3
"""Extracts the openAPIV3Schema of the served v1beta1 version from KServe's
InferenceService CRD (about 2 MB of YAML) into inferenceservice-v1beta1.schema.json,
unchanged otherwise, so the test data stays small.

    python3 extract_kserve.py serving.kserve.io_inferenceservices.yaml > inferenceservice-v1beta1.schema.json
"""
import json
import sys

import yaml

crd = yaml.safe_load(open(sys.argv[1]))
(version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1" and v.get("served")]
print(json.dumps(version["schema"]["openAPIV3Schema"], sort_keys=True))
