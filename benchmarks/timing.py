"""Timing helpers shared by the benchmark scripts (run by hand, never by the test suite)."""
import os
import shutil
import statistics
import subprocess
import sys
import time


def wall(cmd, runs):
    """Median wall time of a command over ``runs`` runs, after one warm-up run (OS file cache)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def netcalc_command():
    """The installed ``netcalc`` console script beside this Python, else ``python -m netcalc``."""
    script = os.path.join(os.path.dirname(sys.executable), "netcalc")
    if os.path.exists(script):
        return [script]
    found = shutil.which("netcalc")
    return [found] if found else [sys.executable, "-m", "netcalc"]
