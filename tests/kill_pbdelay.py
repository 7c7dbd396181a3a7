#!/usr/bin/env python3
"""Kills pbdelay with SIGKILL at random moments, many times, restarting it
on the same spool, and checks what came out: every line fed in came out at
least once, none before its fire_at, and a line came out twice only when a
kill separated its release from its mark, so that the lines a killed run
wrote and a later run wrote again are the tail of the killed run's output.

Each run is fed the lines not yet accepted, those neither in the spool
nor in any output, as an upstream replaying its log would. pbdelay comes
from PATH."""
import argparse, json, os, random, signal, subprocess, sys, tempfile, threading, time


def stamped_reader(pipe, out):
    for line in pipe:
        out.append((time.time(), line.rstrip(b"\n")))


def spooled_ids(path):
    ids = set()
    try:
        with open(path, "rb") as f:
            next(f, None)
            for rec in f:
                if rec.endswith(b"\n"):
                    ids.add(json.loads(rec.split(b" ", 1)[1])["id"])
    except FileNotFoundError:
        pass
    return ids


def run_once(spool, data, kill_after, end_input=False):
    """Runs pbdelay on spool with data as its input, ended at once when
    end_input or when it is not to be killed, and SIGKILLs it after
    kill_after seconds unless that is None; returns its output lines, each
    with the time it came."""
    outputs = []
    p = subprocess.Popen(["pbdelay", "--spool", spool], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    reader = threading.Thread(target=stamped_reader, args=(p.stdout, outputs))
    reader.start()
    try:
        p.stdin.write(data)
        if kill_after is None or end_input:
            p.stdin.close()
        else:
            p.stdin.flush()
        if kill_after is not None:
            time.sleep(kill_after)
            p.send_signal(signal.SIGKILL)
    except BrokenPipeError:
        pass
    p.wait()
    reader.join()
    return outputs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--lines", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    start = time.time()
    fire_at = {i: round(start + 0.3 + rnd.random() * 2.5, 3) for i in range(args.lines)}
    text = {i: b'{"id":%d,"fire_at":%.3f}\n' % (i, t) for i, t in fire_at.items()}
    runs, seen = [], set()
    with tempfile.TemporaryDirectory() as d:
        spool = os.path.join(d, "spool")
        for r in range(args.rounds + 1):
            accepted = seen | spooled_ids(spool)
            todo = [text[i] for i in sorted(fire_at) if i not in accepted]
            last = r == args.rounds
            out = run_once(spool, b"".join(todo), None if last else rnd.uniform(0.02, 0.25))
            runs.append(out)
            seen |= {json.loads(line)["id"] for _, line in out}
    problems, dups = [], 0
    for i in fire_at:
        if i not in seen:
            problems.append("line %d never came out" % i)
    for k, out in enumerate(runs):
        for when, line in out:
            i = json.loads(line)["id"]
            if when < fire_at[i]:
                problems.append("line %d out %.3fs early" % (i, fire_at[i] - when))
        later = {line for run in runs[k + 1:] for _, line in run}
        again = [n for n, (_, line) in enumerate(out) if line in later]
        dups += len(again)
        if again and again != list(range(len(out) - len(again), len(out))):
            problems.append("run %d: lines written again are not its last ones: %s" % (k, again))
    for p in problems:
        print(p)
    print("%s: %d lines, %d kills, %d written twice" %
          ("not ok" if problems else "ok", args.lines, args.rounds, dups))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
