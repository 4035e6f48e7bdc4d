#!/usr/bin/env python3
"""Counts individual test results from meson's testlog.json and prints `N passed, M failed`.

TAP tests (the Criterion executables) count one per TAP line; a TAP executable that stops before
its plan is complete (a crash) counts the missing tests as failed. Other tests count as one each.
"""
import json
import re
import sys


def count_tap(stdout, returncode):
    passed = failed = 0
    planned = None
    for line in stdout.splitlines():
        m = re.match(r"^1\.\.(\d+)", line)
        if m:
            planned = int(m.group(1))
        elif line.startswith("not ok"):
            failed += 1
        elif line.startswith("ok"):
            passed += 1
    if planned is not None and passed + failed < planned:
        failed += planned - passed - failed
    if planned is None or (returncode != 0 and failed == 0):
        failed += 1  # the executable failed without reporting which test
    return passed, failed


def main(path):
    passed = failed = 0
    failures = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            result = json.loads(line)
            name = result["name"]
            if result.get("protocol", "exitcode") == "tap" or result.get("stdout", "").startswith(
                "TAP version"
            ):
                p, f = count_tap(result.get("stdout", ""), result.get("returncode", 1))
            else:
                ok = result["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
                p, f = (1, 0) if ok else (0, 1)
            passed += p
            failed += f
            if f:
                failures.append(name)
    for name in failures:
        print(f"FAILED: {name}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
