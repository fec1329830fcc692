#!/usr/bin/env python3
"""Processes a CI run started that are still running (issue 32).

`.ci/run` exports CI_RUN_MARK with a value of its own; every process it
starts inherits it (scripts that clear JISHI_* variables keep it). This
lists the processes whose environment holds that mark, but this one and
the caller, naming each with its command line, and exits 1 if there are
any. Usage: tests/leftovers.py [--except PID ...] (in the environment of
the run); --except names a process the run keeps on purpose until its own
end (the S3 test server), which is stopped and checked last."""
import os
import sys

mark = os.environ.get("CI_RUN_MARK")
if not mark:
    sys.exit("CI_RUN_MARK is not set: run this from .ci/run")
needle = f"CI_RUN_MARK={mark}".encode()
skip = {os.getpid(), os.getppid()}
args = sys.argv[1:]
while args:
    if len(args) < 2 or args[0] != "--except" or not args[1].isdigit():
        sys.exit("usage: tests/leftovers.py [--except PID ...]")
    skip.add(int(args[1]))
    args = args[2:]
left = []
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) in skip:
        continue
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
        if needle not in env:
            continue
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        continue  # gone, or not ours to read
    left.append((int(pid), cmd))
for pid, cmd in sorted(left):
    print(f"still running: pid {pid}: {cmd}", file=sys.stderr)
if left:
    print(f"{len(left)} process(es) started by this run are still running; "
          "the script that started each must stop it on every exit path", file=sys.stderr)
    sys.exit(1)
print("no process of this run is left")
