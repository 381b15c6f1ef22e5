#!/usr/bin/env python3
"""CPU time per proxied request: frontdoor's worker threads vs nginx's workers.

Throughput on a small shared machine swings by 30% between runs; CPU time per
request, measured for both proxies in the same run, is a steadier comparison.
Runs the small-response case of the load benchmark once (10 s per target),
samples /proc CPU times of the proxy threads (names starting with $PFX, default
"frontdoor-w") during the frontdoor phase and of the nginx workers during the
nginx phase, and prints microseconds of CPU per request for each.

    python3 benches/load/cpu_per_request.py [path/to/upstream-load]
"""
import os
import re
import subprocess
import sys
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/upstream-load"
env = dict(os.environ, ONLY_SMALL="1", ROUNDS="1", DURATION="10")
hz = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid, prefix):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except FileNotFoundError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith(prefix):
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
    return total / hz


def nginx_cpu():
    total = 0
    pids = subprocess.run(["pgrep", "-f", "nginx: worker"], capture_output=True, text=True)
    for pid in pids.stdout.split():
        fields = open(f"/proc/{pid}/stat").read()
        fields = fields[fields.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / hz
    return total


prefix = os.environ.get("PFX", "frontdoor-w")
proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, text=True)
# Phases: upstream direct 0-10 s, frontdoor 10-20 s, nginx 20-30 s.
time.sleep(11)
fd0 = thread_cpu(proc.pid, prefix)
time.sleep(8)
fd1 = thread_cpu(proc.pid, prefix)
time.sleep(2)
ng0 = nginx_cpu()
time.sleep(8)
ng1 = nginx_cpu()
out = proc.communicate()[0]
rps = {}
for line in out.splitlines():
    m = re.match(r"\| 13 B \(64 conns\) \| (.*?) \| (\d+) \|", line)
    if m:
        rps[m.group(1)] = int(m.group(2))
fd, ng = rps.get("frontdoor"), rps.get("nginx (2 workers)")
ours = 1e6 * (fd1 - fd0) / (fd * 8)
theirs = 1e6 * (ng1 - ng0) / (ng * 8)
print(f"frontdoor: {fd} req/s, {ours:.1f} us CPU/request")
print(f"nginx:     {ng} req/s, {theirs:.1f} us CPU/request")
print(f"ratio (frontdoor / nginx CPU per request): {ours / theirs:.2f}")
