#!/usr/bin/env python3
"""Fault drill: SIGTERM under load.

Under a load of spends, holds and captures (service key, Idempotency-Keys),
one talent's balance row is locked in PostgreSQL so that requests are
certainly in flight, and the process gets SIGTERM (grace:
KARTEL_SHUTDOWN_TIMEOUT_SECONDS, set by --grace).

Phase 1, drain: the lock is released within the grace. Every request in
flight at the signal is answered 2xx; new connections are refused cleanly
(connection refused, or a 503 problem; never a 5xx other than that, never a
hang); the process exits 0 soon after, within the grace.

Phase 2, grace exceeded: the process is started again and the lock is held
past the grace. The process exits within the grace (plus 1.5 s); the requests
it could not finish get no answer, and retried with their keys after a new
start each is applied exactly once.

Ends with the ledger check clean and every acknowledged movement in the books
exactly once.
"""

import signal
import sys
import threading
from collections import Counter

sys.dont_write_bytecode = True

import time  # noqa: E402

from common import (  # noqa: E402
    Load, RowLock, attempts_of, base_parser, drop_connections, env, load_summary, main, now,
    resolve, setup, spend_op, verify_books,
)


def in_flight(run, base, talent, n, label, extra):
    """`n` spends of `talent`, each on its own thread and connection."""
    ops = [spend_op(run, f"{run.tag}-{label}-{i}", talent, 1) for i in range(n)]
    extra.extend(ops)

    def go(op):
        op.send(base)
        drop_connections()

    threads = [threading.Thread(target=go, args=(op,), daemon=True) for op in ops]
    for t in threads:
        t.start()
    return ops, threads


def new_requests(run, base, talent, n, label, extra, pause=0.1):
    """`n` spends on fresh connections, one after another."""
    ops = []
    for i in range(n):
        op = spend_op(run, f"{run.tag}-{label}-{i}", talent, 1)
        extra.append(op)
        ops.append(op)
        drop_connections()
        op.send(base, timeout=10)
        time.sleep(pause)
    drop_connections()
    return ops


def drill(run):
    a = run.args
    grace = a.grace
    api = run.service("api", a.port, {"KARTEL_SHUTDOWN_TIMEOUT_SECONDS": str(grace)})
    setup(run, api)
    extra = run.extra_movements
    pinned = run.talents[0]["id"]
    other = run.talents[1]["id"]
    load = Load(run, [api.url])
    load.start()
    run.cleanups.append(load.stop)
    time.sleep(a.seconds)

    # ---- phase 1: drain
    lock = RowLock(run.db_url, pinned)
    run.cleanups.append(lock.release)
    ops1, th1 = in_flight(run, api.url, pinned, a.in_flight, "inflight1", extra)
    time.sleep(1.0)
    t_term = now()
    api.signal(signal.SIGTERM)
    run.event(f"phase 1: SIGTERM to pid {api.pid} with {a.in_flight} spends (and the load's requests) "
              "of a locked talent in flight")
    time.sleep(0.3)
    fresh = new_requests(run, api.url, other, 5, "new1", extra)
    time.sleep(max(0.0, t_term + a.release_after - now()))
    t_rel = now()
    lock.release()
    run.cleanups.remove(lock.release)
    run.event(f"released the lock {t_rel - t_term:.2f}s after the signal")
    rc = api.wait_exit(grace + 10)
    t_exit = now()
    for t in th1:
        t.join(5)
    run.event(f"exited with {rc} {t_exit - t_term:.2f}s after the signal")
    flying = [(op, x) for op, x in attempts_of(load.ops) if x.t0 < t_term < x.t1] + \
             [(op, op.attempts[0]) for op in ops1 if op.attempts]
    labels = Counter(x.label() for _, x in flying)
    run.expect(all(x.ok for _, x in flying) and len(flying) >= a.in_flight,
               "phase 1: every request in flight at the signal finished with 2xx",
               f"{len(flying)} in flight: {dict(labels)}")
    run.expect(all(x.ok and x.t1 >= t_rel for x in (op.attempts[0] for op in ops1 if op.attempts)),
               "phase 1: the locked requests were answered after the lock was released, not cut",
               f"{[round(op.attempts[0].t1 - t_term, 2) for op in ops1 if op.attempts]}s after the signal")
    fl = Counter(op.attempts[0].label() for op in fresh)
    run.expect(all(op.attempts[0].kind == "refused" or (op.attempts[0].status == 503 and
                   op.attempts[0].headers.get("retry-after")) for op in fresh),
               "phase 1: new connections after the signal are refused cleanly", f"{dict(fl)}")
    after = [x for _, x in attempts_of(load.ops) if t_term + 0.05 <= x.t0 < t_exit]
    la = Counter(x.label() for x in after)
    bad = [x for x in after if (x.status is not None and x.status >= 500 and x.status != 503)
           or x.kind == "timeout"]
    run.expect(not bad, "phase 1: no request of the load sent after the signal got a 5xx or hung",
               f"{dict(la)}")
    run.expect(rc == 0 and t_exit - t_term <= grace + 1.0,
               f"phase 1: the process exits 0 within the grace ({grace}s)",
               f"rc {rc}, {t_exit - t_term:.2f}s after the signal, {t_exit - t_rel:.2f}s after the lock was released")
    run.measure("phase1", {
        "grace_s": grace,
        "in_flight_at_signal": len(flying),
        "in_flight_outcomes": dict(labels),
        "lock_released_after_s": round(t_rel - t_term, 2),
        "exit_after_signal_s": round(t_exit - t_term, 2),
        "exit_after_release_s": round(t_exit - t_rel, 2),
        "exit_code": rc,
        "new_connections": dict(fl),
        "load_after_signal": dict(la),
    })

    # ---- phase 2: the grace runs out
    took = api.start()
    run.event(f"started again (pid {api.pid}) in {took:.2f}s")
    time.sleep(3)
    lock = RowLock(run.db_url, pinned)
    run.cleanups.append(lock.release)
    ops2, th2 = in_flight(run, api.url, pinned, a.in_flight, "inflight2", extra)
    time.sleep(1.0)
    t_term2 = now()
    api.signal(signal.SIGTERM)
    run.event(f"phase 2: SIGTERM to pid {api.pid}; the lock stays {grace + 3}s")
    rc2 = api.wait_exit(grace + 10)
    t_exit2 = now()
    run.event(f"exited with {rc2} {t_exit2 - t_term2:.2f}s after the signal")
    time.sleep(max(0.0, t_term2 + grace + 3 - now()))
    lock.release()
    run.cleanups.remove(lock.release)
    for t in th2:
        t.join(5)
    cut = [op.attempts[0] for op in ops2 if op.attempts]
    lc = Counter(x.label() for x in cut)
    run.expect(rc2 is not None and t_exit2 - t_term2 <= grace + 1.5,
               f"phase 2: with requests stuck past the grace the process still exits within it ({grace}s + 1.5s)",
               f"rc {rc2}, {t_exit2 - t_term2:.2f}s after the signal")
    run.expect(all(x.kind == "dropped" and x.t1 <= t_exit2 + 0.5 for x in cut),
               "phase 2: the stuck requests got no answer (cut when the process exited), none hung",
               f"{dict(lc)}")
    run.measure("phase2", {
        "exit_after_signal_s": round(t_exit2 - t_term2, 2),
        "exit_code": rc2,
        "stuck_requests": dict(lc),
    })
    took = api.start()
    t_up = now()
    run.event(f"started again (pid {api.pid}) in {took:.2f}s")
    time.sleep(a.after_seconds)
    load.stop()
    run.cleanups.remove(load.stop)
    after = [x for _, x in attempts_of(load.ops) if x.t0 >= t_up]
    run.expect(after and all(x.ok for x in after), "every request after the last start succeeded",
               f"{len(after)} requests")
    five = [x for _, x in attempts_of(load.ops + extra) if x.status is not None and x.status >= 500]
    run.measure("load", load_summary(load.ops))
    run.measure("load_5xx", dict(Counter(x.label() for x in five)))
    run.measure("resolve", resolve(run, load.ops + extra, [api.url]))
    run.measure("books", verify_books(run, load.ops, api.url))


if __name__ == "__main__":
    p = base_parser(__doc__.splitlines()[0], seconds=5)
    p.add_argument("--grace", type=int, default=int(env("DRILL_GRACE", "8")),
                   help="KARTEL_SHUTDOWN_TIMEOUT_SECONDS of the drill's service (env DRILL_GRACE)")
    p.add_argument("--release-after", type=float, default=float(env("DRILL_RELEASE_AFTER", "2")),
                   help="phase 1: seconds after the signal the lock is released (env DRILL_RELEASE_AFTER; "
                        "less than the grace)")
    p.add_argument("--in-flight", type=int, default=int(env("DRILL_IN_FLIGHT", "4")),
                   help="extra spends of the locked talent in flight at the signal (env DRILL_IN_FLIGHT)")
    p.add_argument("--after-seconds", type=float, default=float(env("DRILL_AFTER_SECONDS", "4")),
                   help="load after the last start (env DRILL_AFTER_SECONDS)")
    main(drill, "sigterm", p)
