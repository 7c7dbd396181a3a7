#!/usr/bin/env python3
"""Release lateness of pbdelay while input keeps arriving: feeds RATE lines
a second for SECONDS, each due 0.1 to 1 s after it is written, stamps each
line as it comes out, and prints the p50, p99 and max of (out - due) in
milliseconds. usage: lateness.py RATE SECONDS"""
import random, subprocess, sys, threading, time

rate, seconds = int(sys.argv[1]), float(sys.argv[2])
late = []
p = subprocess.Popen(["pbdelay"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def read():
    for line in p.stdout:
        now = time.time()
        due = float(line[line.rindex(b":") + 1:-2])
        late.append((now - due) * 1000)


reader = threading.Thread(target=read)
reader.start()
start = time.time()
sent = 0
while time.time() - start < seconds:
    batch = int((time.time() - start) * rate) - sent
    if batch > 0:
        now = time.time()
        p.stdin.write(b"".join(b'{"n":%d,"fire_at":%.6f}\n' % (sent + i, now + random.uniform(0.1, 1))
                               for i in range(batch)))
        p.stdin.flush()
        sent += batch
    time.sleep(0.001)
p.stdin.close()
p.wait()
reader.join()
late.sort()
print("%d lines, lateness ms: p50 %.1f, p99 %.1f, max %.1f, earliest %.1f" %
      (len(late), late[len(late) // 2], late[len(late) * 99 // 100], late[-1], late[0]))
