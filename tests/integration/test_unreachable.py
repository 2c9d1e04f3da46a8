"""A site that no route reaches from a request's origin is never offered to a policy: with two sites and
no link between them, every built-in policy serves every request at the reachable site, and none times
out (they used to be sent to the unreachable site and time out after the drain)."""
import subprocess

from cpntest import CPNSIM, SRC, fail, requests, run

policies = subprocess.run([CPNSIM, "--list-policies"], capture_output=True, text=True, check=True).stdout.split()
for pol in policies:
    _, out = run(f"{SRC}/tests/data/unreachable.yaml", "--policy", pol)
    r = requests(out)
    to_b = int((r["site"] == 1).sum())
    timed_out = int((r["status"] == 3).sum())
    print(f"{pol:14s}: {len(r)} requests, {to_b} sent to the unreachable site, {timed_out} timed out")
    if len(r) < 400:
        fail(f"{pol}: too few requests ({len(r)})")
    if to_b or timed_out:
        fail(f"{pol}: {to_b} requests sent to an unreachable site, {timed_out} timed out")
print("ok")
