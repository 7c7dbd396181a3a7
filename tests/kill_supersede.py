#!/usr/bin/env python3
"""Kills pbdelay with SIGKILL at random moments, many times, restarting it
on the same spool with the same input, a replay of the whole log, as cron
or a restarted pipeline would, and checks what came out: no line that a
fraud verdict superseded ever came out as it is, each came out marked
superseded at least once, every other line came out at least once and
none before its fire_at. The input is pbmatch | pbexpand of a log whose
approved conversions are due in 0.5 to 3 s, half of them followed by a
verdict within their delay, under an approved-only rule (so the verdicts
reach pbdelay as notices). The tools come from PATH."""
import argparse, json, os, random, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kill_pbdelay import run_once  # noqa: E402

RULES = """postbacks:
  - name: approved
    type: conversion
    url: http://127.0.0.1:9/pb?tid={transaction_id}
    delay: 2m
"""


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % round((t % 1) * 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--transactions", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    start = time.time()
    actions, fraud = [], set()
    for i in range(args.transactions):
        t = start - 120 + 0.8 + rnd.random() * 2.5
        actions.append((t, {"type": "conversion", "transaction_id": "t%d" % i,
                            "status": "approved", "time": iso(t)}))
        if i % 2:
            fraud.add("t%d" % i)
            v = t + rnd.uniform(1, 100)
            actions.append((v, {"type": "conversion", "transaction_id": "t%d" % i, "status": "rejected",
                                "rejection_reason": "fraud", "time": iso(v)}))
    actions.sort(key=lambda a: a[0])
    log = "".join(json.dumps(a, separators=(",", ":")) + "\n" for _, a in actions).encode()
    with tempfile.TemporaryDirectory() as d:
        rules = os.path.join(d, "rules.yaml")
        with open(rules, "w") as f:
            f.write(RULES)
        matched = subprocess.run("pbmatch -r %s | pbexpand" % rules, shell=True, input=log,
                                 stdout=subprocess.PIPE, check=True).stdout
        spool = os.path.join(d, "spool")
        runs = []
        for r in range(args.rounds + 1):
            last = r == args.rounds
            out = run_once(spool, matched, None if last else rnd.uniform(0.02, 0.4), end_input=True)
            runs.append([(when, json.loads(line)) for when, line in out])
    problems, plain, marked = [], {}, {}
    for out in runs:
        for when, rec in out:
            tid = rec["transaction_id"]
            if "superseded" in rec:
                marked[tid] = marked.get(tid, 0) + 1
                continue
            plain[tid] = plain.get(tid, 0) + 1
            fire_at = time.mktime(time.strptime(rec["fire_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            if when < fire_at:
                problems.append("%s out %.3fs early" % (tid, fire_at - when))
    for i in range(args.transactions):
        tid = "t%d" % i
        if tid in fraud and tid in plain:
            problems.append("%s was superseded, and came out %d times as it is" % (tid, plain[tid]))
        if tid in fraud and tid not in marked:
            problems.append("%s was superseded, and never came out marked so" % tid)
        if tid not in fraud and tid not in plain:
            problems.append("%s never came out" % tid)
        if tid not in fraud and tid in marked:
            problems.append("%s came out superseded" % tid)
    for p in problems:
        print(p)
    print("%s: %d transactions, %d superseded, %d kills, %d lines out, %d written again" % (
        "not ok" if problems else "ok", args.transactions, len(fraud), args.rounds,
        sum(len(o) for o in runs), sum(plain.values()) - len(plain) + sum(marked.values()) - len(marked)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
