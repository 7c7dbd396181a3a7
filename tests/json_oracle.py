#!/usr/bin/env python3
"""Differential test of the strict JSON validator: mutates valid records
at random (fixed seed), asks Python's json module, held to the same
rules (no NaN, UTF-8 only, no lone surrogates, objects only), whether
each line is valid, and checks that pbexpand rejects exactly the lines
Python refuses. Usage: json_oracle.py PBEXPAND [COUNT]"""
import json
import random
import subprocess
import sys

BASES = [
    '{"type":"click","transaction_id":"t","a":[1,2.5e3,{"b":null}],"s":"x\\u00e9\\n"}',
    '{"type":"click","transaction_id":1,"x":-0.0,"y":true,"z":"\\ud83c\\udf89"}',
]
ALPHABET = list('{}[],:"\\ 0123456789.eE+-tfnul\t') + ['\x01', '\xc3', '\xa9', '\xff', '\ud800']


def mutate(rng, s):
    s = list(s)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(s) + 1)
        c = rng.choice(ALPHABET)
        op = rng.randint(0, 2)
        if op == 0:
            s.insert(at, c)
        elif at < len(s):
            if op == 1:
                del s[at]
            else:
                s[at] = c
    return ''.join(s).encode('utf-8', 'surrogatepass')


def strings_ok(v):
    if isinstance(v, str):
        v.encode('utf-8')  # raises on a lone surrogate
    elif isinstance(v, dict):
        for k, x in v.items():
            strings_ok(k)
            strings_ok(x)
    elif isinstance(v, list):
        for x in v:
            strings_ok(x)


def valid(b):
    try:
        v = json.loads(b.decode('utf-8'), parse_constant=lambda c: 1 / 0)
        strings_ok(v)
        return isinstance(v, dict)
    except (ValueError, ZeroDivisionError, UnicodeError, RecursionError):
        return False


def main():
    rng = random.Random(7)
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    lines = [m for m in (mutate(rng, rng.choice(BASES)) for _ in range(count))
             if b'\n' not in m and b'\r' not in m and m.strip()]
    run = subprocess.run([sys.argv[1], '-t', 'https://h.example/'], input=b'\n'.join(lines) + b'\n',
                         capture_output=True)
    rejected = {int(e.split(':')[2]) for e in run.stderr.decode('utf-8', 'replace').splitlines()
                if 'invalid JSON' in e}
    wrong = [i for i, b in enumerate(lines, 1) if valid(b) == (i in rejected)]
    for i in wrong[:10]:
        print('line %d: python says %s: %r' % (i, 'valid' if valid(lines[i - 1]) else 'invalid', lines[i - 1]))
    print('%d lines, %d rejected, %d disagreements' % (len(lines), len(rejected), len(wrong)))
    sys.exit(1 if wrong else 0)


main()
