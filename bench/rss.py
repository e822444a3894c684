"""Run a command and write the peak RSS of it and its children (MiB) to a file.

Usage: python bench/rss.py OUT_FILE COMMAND [ARGS...]
"""

import resource
import subprocess
import sys

out, *command = sys.argv[1:]
code = subprocess.call(command)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(out, "w") as file:
    file.write(f"{peak_kib / 1024:.1f}\n")
sys.exit(code)
