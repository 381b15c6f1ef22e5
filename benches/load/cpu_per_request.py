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
    """(user, system) CPU seconds of the threads of `pid` named `prefix`*."""
    user = system = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except FileNotFoundError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith(prefix):
            fields = stat[stat.rindex(")") + 2 :].split()
            user += int(fields[11])
            system += int(fields[12])
    return user / hz, system / hz


def nginx_cpu():
    """(user, system) CPU seconds of the nginx worker processes."""
    user = system = 0
    pids = subprocess.run(["pgrep", "-f", "nginx: worker"], capture_output=True, text=True)
    for pid in pids.stdout.split():
        fields = open(f"/proc/{pid}/stat").read()
        fields = fields[fields.rindex(")") + 2 :].split()
        user += int(fields[11]) / hz
        system += int(fields[12]) / hz
    return user, system


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


def per_request(before, after, rps):
    """Microseconds of (user, system) CPU per request over the 8 s window."""
    return tuple(1e6 * (a - b) / (rps * 8) for a, b in zip(after, before))


fu, fs = per_request(fd0, fd1, fd)
nu, ns = per_request(ng0, ng1, ng)
print(f"frontdoor: {fd} req/s, {fu + fs:.1f} us CPU/request (user {fu:.1f}, system {fs:.1f})")
print(f"nginx:     {ng} req/s, {nu + ns:.1f} us CPU/request (user {nu:.1f}, system {ns:.1f})")
print(f"ratio (frontdoor / nginx CPU per request): {(fu + fs) / (nu + ns):.2f}")
print(f"user-space ratio: {fu / nu:.2f}")
