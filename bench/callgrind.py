"""Instructions a Python process executes, counted by valgrind's callgrind.

Throughput and CPU time on a shared machine move by tens of percent with
whatever else runs; the user-space instructions of a process do not. The
`*_instructions.py` benchmarks run the same work twice at different sizes
with this and take the difference, so start-up and warm-up cancel out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys


def instructions(script: str, *args: str) -> tuple[int, str]:
    """Run `python script args…` under callgrind: (instructions, its stdout).

    PYTHONHASHSEED is fixed so strings hash the same in every run and dict and
    set work does not vary between the two runs being compared (with a random
    seed, the same code's count moved by about 2 %)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, script, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if not found:
        raise SystemExit(f"callgrind printed no total:\n{out.stderr[-2000:]}")
    return int(found.group(1)), out.stdout
