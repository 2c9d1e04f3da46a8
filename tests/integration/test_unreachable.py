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

# --check warns about the site no route reaches (file, line and key), and not about reachable ones.
p = subprocess.run([CPNSIM, f"{SRC}/tests/data/unreachable.yaml", "--check"], capture_output=True, text=True)
print(p.stderr.strip())
want = "unreachable.yaml:27: warning: sites.b: no route reaches it from any origin"
if p.returncode != 0 or want not in p.stderr or "sites.a" in p.stderr:
    fail(f"--check should warn about site b only (exit 0): exit {p.returncode}, stderr {p.stderr!r}")
p = subprocess.run([CPNSIM, f"{SRC}/tests/data/hk-sg-cut.yaml", "--check"], capture_output=True, text=True)
if p.returncode != 0 or "warning" in p.stderr:
    fail(f"--check warned about a scenario whose sites are all reachable: {p.stderr!r}")
print("ok")
