#!/usr/bin/env python3
"""Fault drill: the API killed with SIGKILL mid-load and started again.

Under a load of spends, holds and captures (service key, Idempotency-Keys),
one talent's balance row is locked in PostgreSQL for a moment so that some of
that talent's requests are inside their database work when the process is
killed with SIGKILL; then the lock is released, the process started again on
the same database, and the load goes on. No half-applied transaction (the
ledger check is clean), every request the client saw succeed is in the
books, and every unanswered one, retried with its key, is applied exactly
once (a second retry answers the same).
"""

import signal
import sys
from collections import Counter

sys.dont_write_bytecode = True

import time  # noqa: E402

from common import (  # noqa: E402
    Load, RowLock, attempts_of, base_parser, describe, env, load_summary, main, now, resolve, setup,
    verify_books,
)


def drill(run):
    a = run.args
    api = run.service("api", a.port)
    setup(run, api)
    load = Load(run, [api.url])
    load.start()
    run.cleanups.append(load.stop)
    time.sleep(a.seconds)

    pinned = run.talents[0]["id"] if a.pin_seconds > 0 else None
    lock = None
    if pinned:
        lock = RowLock(run.db_url, pinned)
        run.cleanups.append(lock.release)
        run.event(f"locked the balance row of talent {pinned}: its requests wait inside the service")
        time.sleep(a.pin_seconds)
    old_pid = api.pid
    t_kill = now()
    api.signal(signal.SIGKILL)
    rc = api.wait_exit(10)
    run.event(f"SIGKILL to pid {old_pid}: exited with {rc}")
    run.expect(rc == -signal.SIGKILL, "the process died of SIGKILL", f"returncode {rc}")
    if lock:
        lock.release()
        run.cleanups.remove(lock.release)
    time.sleep(a.down_seconds)
    t_start = now()
    took = api.start()
    t_up = now()
    run.event(f"started again (pid {api.pid}) in {took:.2f}s")
    run.measure("restart_to_healthy_s", round(took, 2))
    time.sleep(a.after_seconds)
    load.stop()
    run.cleanups.remove(load.stop)

    at_kill = [(op, x) for op, x in attempts_of(load.ops) if x.t0 < t_kill <= x.t1 + 0.001 and not x.ok]
    answered_in_flight = [(op, x) for op, x in attempts_of(load.ops) if x.t0 < t_kill < x.t1 and x.ok]
    down = [x for _, x in attempts_of(load.ops) if t_kill <= x.t0 < t_up]
    after = [x for _, x in attempts_of(load.ops) if x.t0 >= t_up]
    run.measure("in_flight_at_kill", {
        "unanswered": len(at_kill),
        "of_the_locked_talent": sum(1 for op, _ in at_kill if op.talent == pinned),
        "kinds": dict(Counter(f"{op.kind}: {x.kind}" for op, x in at_kill)),
    })
    run.measure("while_down", describe(down))
    run.measure("after_restart", describe(after))
    five = [x for _, x in attempts_of(load.ops) if x.status is not None and x.status >= 500]
    run.expect(not five, "no 5xx at any time", ", ".join(f"{x.label()} at {x.t0:.2f}s" for x in five[:5]))
    run.expect(not answered_in_flight, "nothing in flight was answered after the kill",
               f"{len(answered_in_flight)}")
    run.expect(not pinned or any(op.talent == pinned for op, _ in at_kill),
               "some requests were inside their database work when the process died",
               f"{sum(1 for op, _ in at_kill if op.talent == pinned)} of the locked talent")
    run.expect(after and all(x.ok for x in after), "every request after the restart succeeded",
               f"{len(after)} requests")
    run.measure("load", load_summary(load.ops))
    run.measure("resolve", resolve(run, load.ops, [api.url]))
    run.measure("books", verify_books(run, load.ops, api.url))
    run.measure("kill_at_s", round(t_kill, 2))
    run.measure("down_s", round(t_start - t_kill, 2))


if __name__ == "__main__":
    p = base_parser(__doc__.splitlines()[0], seconds=6)
    p.add_argument("--pin-seconds", type=float, default=float(env("DRILL_PIN_SECONDS", "1")),
                   help="how long one talent's balance row is locked before the kill (env DRILL_PIN_SECONDS; 0: no lock)")
    p.add_argument("--down-seconds", type=float, default=float(env("DRILL_DOWN_SECONDS", "2")),
                   help="how long the API stays dead (env DRILL_DOWN_SECONDS)")
    p.add_argument("--after-seconds", type=float, default=float(env("DRILL_AFTER_SECONDS", "6")),
                   help="load after the restart (env DRILL_AFTER_SECONDS)")
    main(drill, "sigkill", p)
