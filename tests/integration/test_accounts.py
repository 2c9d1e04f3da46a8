"""Accounts at the gateway (tests/data/accounts.yaml: one replica, three tenants).

1. Quota: `capped` may use 100,000 tokens per 300 s period; each of its requests is 1,100 tokens, so it
   gets floor(100000 / 1100) = 90 requests a period and the rest end rejected with reason `admission`
   (4 periods: at most 360 admitted). `free` and `paid` have no quota: none of theirs is rejected, and
   they get exactly the requests they get when `capped` has no quota (same arrivals). Bills: completed
   prompt and output tokens at the tenant's prices.
2. Priority: with run.gateway_max_in_flight, the gateway queues by tier. Under overload (demand x 3 on
   one replica) the `gold` tier (priority 2) keeps its median TTFT within its 5 s SLO (it waits for a
   slot among the 16 in flight, not behind the queue) while `bronze` (priority 0) grows more than 20x;
   with no gateway limit both grow past 20x (control)."""
import h5py
import numpy as np

from cpntest import SRC, fail, run

SCEN = f"{SRC}/tests/data/accounts.yaml"
ADMISSION = 4  # CPN_REASON_ADMISSION


def load(out):
    with h5py.File(out, "r") as f:
        names = [n.decode() for n in f["names/tenants"][:]]
        return f["requests"][:], names, f["accounts"][:], f["summary/tenants"][:]


r, names, acc, summ = load(run(SCEN)[1])
capped, free, paid = (names.index(n) for n in ("capped", "free", "paid"))
rej = r[r["status"] == 1]
if not (rej["tenant"] == capped).all() or len(rej) == 0:
    fail(f"rejections: {len(rej)}, tenants {set(rej['tenant'])}: want some, all of `capped`")
if not (rej["reason"] == ADMISSION).all():
    fail("a quota rejection without reason admission")
c = r[r["tenant"] == capped]
for p in range(4):
    in_p = c[(c["t_arrival"] >= 300 * p) & (c["t_arrival"] < 300 * (p + 1))]
    admitted = (in_p["status"] != 1).sum()
    want = min(len(in_p), 90)
    if admitted != want:
        fail(f"period {p}: {admitted} of {len(in_p)} admitted, want {want}")
    # Admission is first come, first served within the period: the rejected are the latest.
    if len(in_p) > 90 and not (in_p["status"][np.argsort(in_p["t_arrival"])][90:] == 1).all():
        fail(f"period {p}: a request was rejected before the quota ran out")
r0, _, _, _ = load(run(SCEN, "--set", "tenants=[{name: capped, share: 0.4}, {name: free, share: 0.3}, "
                      "{name: paid, share: 0.3}]")[1])
for t in (free, paid):
    a, b = r[r["tenant"] == t], r0[r0["tenant"] == t]
    if len(a) != len(b) or (a["status"] != 0).any() or not np.array_equal(np.sort(a["id"]), np.sort(b["id"])):
        fail(f"tenant {names[t]} was affected by another's quota")
done = r[r["status"] == 0]
for t, (pin, pout) in {capped: (0.3, 1.2), paid: (0.5, 2.0), free: (0, 0)}.items():
    d = done[done["tenant"] == t]
    bill = (d["prompt_tokens"].sum() * pin + d["output_tokens"].sum() * pout) / 1e6
    if abs(summ["bill_usd"][t] - bill) > 1e-9 * max(bill, 1):
        fail(f"{names[t]}: bill {summ['bill_usd'][t]} != {bill}")
print(f"quota: capped {len(c)} requests, {len(rej)} rejected (admission), free/paid untouched; "
      f"bills {summ['bill_usd'][capped]:.4f} / {summ['bill_usd'][paid]:.4f} USD; /accounts rows {len(acc)}")

tiers = ["--set", "tenants=[{name: gold, share: 0.3, priority: 2}, {name: bronze, share: 0.7}]"]


def ttft(args):
    r, names, _, _ = load(run(SCEN, *tiers, *args)[1])
    d = r[r["status"] == 0]
    x = d["t_first_token"] - d["t_arrival"]
    return {n: float(np.median(x[d["tenant"] == i])) for i, n in enumerate(names)}


light = ttft(["--set", "run.gateway_max_in_flight=16"])
heavy = ttft(["--set", "run.gateway_max_in_flight=16", "--set", "demand.scale=40"])
control = ttft(["--set", "demand.scale=40"])
print(f"median TTFT light {light}, overload with tiers {heavy}, overload without the gateway limit {control}")
if not heavy["gold"] < 5.0:  # the class's TTFT SLO
    fail(f"gold TTFT {heavy['gold']} s under overload is past its 5 s SLO")
if not heavy["bronze"] > 20 * light["bronze"]:
    fail(f"bronze TTFT did not grow under overload: {light['bronze']} -> {heavy['bronze']}")
if not control["gold"] > 20 * light["gold"]:
    fail("without the gateway limit gold was protected anyway: the test does not show the tiers' effect")
print("quotas and priority tiers hold")

# 3. A million subscribers behind one plan, each allowed one request (1,100 tokens) in a period longer
# than the run: every subscriber's first request is admitted and every repeat is rejected, so admitted =
# subscribers seen and rejected = requests - seen. Popularity is Zipf (s = 1.1), so repeats are common.
plan = "[{name: plan, subscribers: 1000000, subscriber_zipf_s: 1.1, quota_tokens: 1100, quota_period_s: 1.0e6}]"
r, names, acc, _ = load(run(SCEN, "--set", f"tenants={plan}")[1])
a = acc[0]
n_rej = int((r["status"] == 1).sum())
print(f"1e6 subscribers: {len(r)} requests from {int(a['subscribers_seen'])} subscribers, {int(a['admitted'])} admitted, "
      f"{n_rej} rejected")
if not (a["subscribers"] == 1e6 and a["admitted"] == a["subscribers_seen"] and n_rej == len(r) - a["subscribers_seen"]
        and a["rejected_quota"] == n_rej and 0 < n_rej < len(r)):
    fail(f"per-subscriber quota: {a}")
