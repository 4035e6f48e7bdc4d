#!/usr/bin/env python3
"""Counts individual test results from meson's testlog.json and prints `N passed, M failed`.

TAP tests (the Criterion executables) count one per TAP line; a TAP executable that stops before
its plan is complete (a crash) counts the missing tests as failed. Other tests count as one each.
Skipped tests are neither passed nor failed: they are listed, with their reason, before the last
line.
"""
import json
import re
import sys


def count_tap(stdout, returncode, skips):
    passed = failed = 0
    planned = None
    for line in stdout.splitlines():
        m = re.match(r"^1\.\.(\d+)", line)
        if m:
            planned = int(m.group(1))
        elif line.startswith("not ok"):
            failed += 1
        elif line.startswith("ok"):
            if re.search(r"#\s*SKIP", line, re.IGNORECASE):
                skips.append(line[2:].strip(" -"))
            else:
                passed += 1
    seen = passed + failed + len(skips)
    if planned is not None and seen < planned:
        failed += planned - seen
    if planned is None or (returncode != 0 and failed == 0):
        failed += 1  # the executable failed without reporting which test
    return passed, failed


def main(path):
    passed = failed = 0
    failures = []
    skips = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            result = json.loads(line)
            name = result["name"]
            stdout = result.get("stdout", "")
            if stdout.startswith("TAP version"):
                file_skips = []
                p, f = count_tap(stdout, result.get("returncode", 1), file_skips)
                skips.extend(f"{name}: {s}" for s in file_skips)
            elif result["result"] == "SKIP":
                p, f = 0, 0
                skips.append(name)
            else:
                ok = result["result"] in ("OK", "EXPECTEDFAIL")
                p, f = (1, 0) if ok else (0, 1)
            passed += p
            failed += f
            if f:
                failures.append(name)
    for s in skips:
        print(f"SKIPPED: {s}")
    for name in failures:
        print(f"FAILED: {name}")
    if skips:
        print(f"{len(skips)} skipped")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
