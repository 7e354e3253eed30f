#!/usr/bin/python3
"""Parses Prometheus text from stdin with the Prometheus client's own parser; prints one JSON sample per line."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        print(json.dumps({"family": family.name, "type": family.type, "name": sample.name,
                          "labels": dict(sorted(sample.labels.items())), "value": sample.value}))
