#!/usr/bin/env python3
"""Fault drill: PostgreSQL restarted mid-load.

Under a load of spends, holds and captures (service key, Idempotency-Keys),
PostgreSQL is restarted with the given command. Requests in the gap either
succeed late or fail fast with a 503 problem (`service_unavailable`) carrying
Retry-After — never a 500, never a hang beyond the pool's acquire timeout
(10 s, domain/src/db.rs) plus a margin, never a dropped connection or a
panic — and the same process recovers alone. Then every request that got no
definitive answer is retried with its key, and the books are checked: ledger
check clean, every acknowledged movement present exactly once.
"""

import sys

sys.dont_write_bytecode = True

import time  # noqa: E402

from common import (  # noqa: E402
    DB_ACQUIRE_TIMEOUT_S, Load, Prober, attempts_of, base_parser, describe, env, gap, load_summary, main, now,
    resolve, run_cmd, setup, verify_books,
)

MARGIN_S = 2.0


def drill(run):
    a = run.args
    api = run.service("api", a.port)
    setup(run, api)
    pid = api.pid
    ready = Prober(api.url, "/readyz", 0.2, timeout=30).start()
    alive = Prober(api.url, "/healthz", 0.2, timeout=30).start()
    run.cleanups += [ready.stop, alive.stop]
    load = Load(run, [api.url])
    load.start()
    run.cleanups.append(load.stop)
    time.sleep(a.seconds)

    t_fault = now()
    if a.pg_stop and a.pg_start:
        # The long variant: PostgreSQL stays away longer than the acquire timeout.
        run.measure("mode", f"stop, {a.down_seconds:.0f}s down, start")
        run_cmd(run, "stop PostgreSQL", a.pg_stop, timeout=300)
        time.sleep(a.down_seconds)
        took = run_cmd(run, "start PostgreSQL", a.pg_start, timeout=300)
    else:
        run.measure("mode", "restart")
        took = run_cmd(run, "restart PostgreSQL", a.pg_restart, timeout=300)
    t_back = now()
    run.measure("restart_command_s", round(t_back - t_fault, 2))
    time.sleep(a.after_seconds)
    load.stop()
    run.cleanups.remove(load.stop)
    ready.stop()
    alive.stop()
    run.cleanups.remove(ready.stop)
    run.cleanups.remove(alive.stop)

    g = gap(load.ops, t_fault, t_back)
    run.measure("gap", g)
    in_gap = [x for _, x in attempts_of(load.ops) if x.t1 >= t_fault and x.t0 <= g["to_s"]]
    five = [x for x in in_gap if x.status is not None and x.status >= 500]
    not_503 = [x for x in five if x.status != 503]
    run.expect(not not_503, "no 5xx other than 503 in the gap",
               "; ".join(f"{x.status} {x.body[:120]!r}" for x in not_503[:3]))
    bad_503 = [x for x in five if x.status == 503 and not (
        x.headers.get("retry-after") and x.headers.get("content-type", "").startswith("application/problem+json")
        and x.code() == "service_unavailable")]
    run.expect(not bad_503, "every 503 is a service_unavailable problem with Retry-After",
               f"{len(five) - len(bad_503)} of {len(five)}" +
               ("; e.g. " + repr((bad_503[0].headers, bad_503[0].body[:200])) if bad_503 else ""))
    lost = [x for x in in_gap if x.status is None]
    run.expect(not lost, "no request went unanswered (no hang past the client's 30 s, no dropped connection)",
               ", ".join(f"{x.kind} after {x.latency:.1f}s" for x in lost[:5]))
    bound = DB_ACQUIRE_TIMEOUT_S + MARGIN_S
    run.expect(g["max_latency_s"] is None or g["max_latency_s"] <= bound,
               f"no request in the gap took longer than the acquire timeout + {MARGIN_S:.0f}s ({bound:.0f}s)",
               f"max {g['max_latency_s']}s")
    late = [x for _, x in attempts_of(load.ops) if x.t0 >= t_back + DB_ACQUIRE_TIMEOUT_S + MARGIN_S]
    late_bad = [x for x in late if not x.ok]
    run.expect(late and not late_bad,
               "the service recovers alone: every request from acquire timeout + margin after the restart on succeeds",
               f"{len(late)} requests, {len(late_bad)} failed")
    last_fail = max((x.t1 for x in in_gap if not x.ok), default=t_fault)
    # Successes again: the first request answered 2xx after the last failure
    # and after PostgreSQL was up again (or the command returned).
    first_ok = min((x.t1 for _, x in attempts_of(load.ops) if x.ok and x.t1 >= last_fail
                    and x.t1 >= t_fault + (a.down_seconds if a.pg_stop and a.pg_start else 0)), default=None)
    run.measure("timeline_s", {
        "command_returned": round(t_back - t_fault, 2),
        "last_failure_answered": round(last_fail - t_fault, 2),
        "successes_again": round(first_ok - t_fault, 2) if first_ok is not None else None,
    })
    r503 = [s for s in ready.samples if s.t0 >= t_fault and s.status == 503]
    r_ok = ready.first(lambda s: s.status == 200, after=max(t_back, max((s.t1 for s in r503), default=0)))
    in_window = lambda smp: [x for x in smp if x.t1 >= t_fault and x.t0 <= g["to_s"]]  # noqa: E731
    run.measure("readyz_in_gap", describe(in_window(ready.samples)))
    run.measure("healthz_in_gap", describe(in_window(alive.samples)))
    run.measure("readyz", {"503_samples": len(r503),
                           "first_503_body": r503[0].json if r503 else None,
                           "200_again_after_restart_returned_s": round(r_ok.t1 - t_back, 2) if r_ok else None})
    run.expect(r_ok is not None, "/readyz is 200 again after the restart")
    h_bad = [s for s in alive.samples if s.t0 >= t_fault and s.status != 200]
    run.expect(not h_bad, "/healthz answered 200 throughout",
               ", ".join(s.label() for s in h_bad[:5]))
    run.expect(api.alive() and api.pid == pid, "the same process is still serving (no crash, no restart)",
               f"pid {pid}")
    run.measure("load", load_summary(load.ops))
    run.measure("resolve", resolve(run, load.ops, [api.url]))
    run.measure("books", verify_books(run, load.ops, api.url))


if __name__ == "__main__":
    p = base_parser(__doc__.splitlines()[0], seconds=5)
    p.add_argument("--pg-restart", default=env("DRILL_PG_RESTART", "sudo systemctl restart postgresql"),
                   help="command that restarts the PostgreSQL server of --database-url (env DRILL_PG_RESTART)")
    p.add_argument("--pg-stop", default=env("DRILL_PG_STOP", ""),
                   help="with --pg-start: stop PostgreSQL, wait --down-seconds, start it (env DRILL_PG_STOP) "
                        "instead of one restart: requests then meet the acquire timeout")
    p.add_argument("--pg-start", default=env("DRILL_PG_START", ""), help="(env DRILL_PG_START)")
    p.add_argument("--down-seconds", type=float, default=float(env("DRILL_DOWN_SECONDS", "15")),
                   help="how long PostgreSQL stays stopped with --pg-stop/--pg-start (env DRILL_DOWN_SECONDS)")
    p.add_argument("--after-seconds", type=float, default=float(env("DRILL_AFTER_SECONDS", "20")),
                   help="load after the restart command returned (env DRILL_AFTER_SECONDS; more than the "
                        "acquire timeout + margin)")
    main(drill, "postgres_restart", p)
