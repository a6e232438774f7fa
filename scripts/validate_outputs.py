#!/usr/bin/env python3
"""Checks the outputs of a real run with the readers their consumers use, not ours.

    validate_outputs.py [--results FILE] [--kcidb FILE] [--junit FILE] [--ktap FILE --kunit KUNIT_PY]

- results: the JSON Schema in schema/results.schema.json (python-jsonschema);
- kcidb: KernelCI's own validator (kcidb-io, the schema version the file names);
- junit: junitparser, an independent JUnit reader: every test case has a time, every failure a
  message, and the counts agree with the results file when both are given;
- ktap: the kernel's tools/testing/kunit/kunit.py parse: no error, no crashed test.
Exits 1 on the first problem, naming it.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import functools

print = functools.partial(print, flush=True)  # noqa: A001  (ordered with stderr)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(what):
    print(f"validate: {what}", file=sys.stderr)
    sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results")
    p.add_argument("--kcidb")
    p.add_argument("--junit")
    p.add_argument("--ktap")
    p.add_argument("--kunit")
    a = p.parse_args()
    outcomes = None
    if a.results:
        import jsonschema

        with open(os.path.join(ROOT, "schema", "results.schema.json")) as f:
            schema = json.load(f)
        with open(a.results) as f:
            results = json.load(f)
        try:
            jsonschema.validate(results, schema)
        except jsonschema.ValidationError as e:
            fail(f"{a.results} does not follow schema/results.schema.json: {e.message} at {list(e.absolute_path)}")
        outcomes = [s["outcome"] for r in results["runs"] for s in r["scenarios"]]
        print(f"validate: {a.results} follows the results schema ({len(outcomes)} scenarios)")
    if a.kcidb:
        import kcidb_io

        with open(a.kcidb) as f:
            data = json.load(f)
        try:
            kcidb_io.schema.LATEST.validate(data)
        except Exception as e:  # the validator raises jsonschema's errors
            fail(f"{a.kcidb} is not valid KCIDB: {str(e).splitlines()[0]}")
        print(f"validate: {a.kcidb} is valid KCIDB v{data['version']['major']}.{data['version'].get('minor', 0)}"
              f" ({len(data.get('tests', []))} tests)")
    if a.junit:
        from junitparser import JUnitXml, Failure, Error, Skipped

        xml = JUnitXml.fromfile(a.junit)
        cases = [c for suite in xml for c in suite]
        failed = sum(1 for c in cases for r in c.result if isinstance(r, Failure))
        errors = sum(1 for c in cases for r in c.result if isinstance(r, Error))
        skipped = sum(1 for c in cases for r in c.result if isinstance(r, Skipped))
        for c in cases:
            ran = not any(isinstance(r, Skipped) for r in c.result)
            if ran and (c.time is None or c.time <= 0):
                fail(f"{a.junit}: test case {c.name} has no time")
            for r in c.result:
                if not r.message:
                    fail(f"{a.junit}: test case {c.name} fails without a message")
        if outcomes is not None:
            want = (len(outcomes), outcomes.count("FAIL"), outcomes.count("ERROR") + outcomes.count("TIMEOUT"),
                    outcomes.count("SKIP"))
            if (len(cases), failed, errors, skipped) != want:
                fail(f"{a.junit}: {len(cases)} cases, {failed} failures, {errors} errors, {skipped} skipped;"
                     f" results say {want}")
        print(f"validate: {a.junit} read by junitparser: {len(cases)} cases, {failed} failures, {errors} errors,"
              f" {skipped} skipped")
    if a.ktap:
        if not a.kunit:
            fail("--ktap needs --kunit PATH (tools/testing/kunit/kunit.py of a kernel source)")
        with open(a.ktap) as f:
            proc = subprocess.run([sys.executable, a.kunit, "parse"], stdin=f, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        bad = [l for l in out.splitlines() if re.search(r"\[ERROR\]|CRASHED|missing|not a valid|Could not find", l)]
        if bad or "Testing complete" not in out:
            fail(f"kunit.py parse rejects {a.ktap}: {bad[0] if bad else out.strip().splitlines()[-1:]}")
        summary = [l for l in out.splitlines() if "Testing complete" in l][0]
        print(f"validate: kunit.py parse reads {a.ktap}: {summary.split('] ', 1)[-1]}")


if __name__ == "__main__":
    main()
