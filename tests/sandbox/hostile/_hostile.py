"""Helpers inlined at the top of every hostile program by ``tests/sandbox/test_hostile.py`` (stdlib only).

A hostile program imports ``CTX, attempt, digest`` from here; the harness replaces that import line
with this file, ``CTX`` filled in with the run's canaries, ports, pids and marker. ``attempt`` prints
``ESCAPED: ...`` when an attempt achieved its goal as seen from inside; the harness never relies on
it alone: it checks every goal from outside too.
"""

import hashlib

CTX: dict = {}  # replaced by the harness


def attempt(goal, fn):
    try:
        result = fn()
    except BaseException as e:  # every way of failing counts as blocked
        print(f"blocked: {goal}: {type(e).__name__}: {e}"[:200])
        return None
    if not result:  # False, None, 0, empty: nothing gained
        print(f"blocked: {goal}: no effect")
    else:
        print(f"ESCAPED: {goal}: {result!r}"[:400])
    return result


def digest(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()
