#!/usr/bin/env python3
"""Runs a command once and appends "wall_s peak_rss_kib cpu_s" to FILE.

The wall time runs from just before GNU time is started on the command to
the moment it is reaped (a monotonic clock, to the microsecond); peak RSS
and CPU time (user + system) are GNU time's report of the command. Unlike
timing `time CMD` from a shell with `date`, neither the shell's, date's
nor this program's start-up is counted: only GNU time's own fork and exec,
the same for every tool compared. (GNU time stands between so that the peak
is the command's: a child forked from this Python process would count
Python's pages until its exec.)

    bench/timed.py FILE CMD [ARG ...]     # stdout discarded, stderr kept
"""
import os
import subprocess
import sys
import tempfile
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        code = subprocess.call(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", report.name, *cmd],
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        peak, user, system = report.read().split()[-3:]
    with open(out, "a") as f:
        f.write(f"{wall:.6f} {peak} {float(user) + float(system):.2f}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
