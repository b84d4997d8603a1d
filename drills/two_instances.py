#!/usr/bin/env python3
"""Load drill: two instances on different ports sharing one PostgreSQL and Redis.

The load of spends, holds and captures (service key, Idempotency-Keys) is
spread over both instances, and some spends are sent to both at the same
moment with one key (each must answer the one effect). Meanwhile: the
per-account sign-in limit counts across the two (it lives in Redis); a
talent suspended on one instance is refused on the other at once; a service
key revoked on one stops at once there and within
KARTEL_API_KEY_CACHE_SECONDS (2 s by default, --key-cache) on the other.
Ends with the ledger check clean and every acknowledged movement in the books
exactly once.
"""

import sys
import threading
from collections import Counter

sys.dont_write_bytecode = True

import time  # noqa: E402

from common import (  # noqa: E402
    TALENT_PASSWORD, Load, base_parser, call, drop_connections, env, load_summary, main, new_talent, now,
    redis_cmd, resolve, setup, spend_op, verify_books,
)

LIMIT = 4  # KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT for this drill


def twins(run, bases, stop_ev, out):
    """Every 0.2 s a spend sent to both instances at once with one key."""
    n = 0
    while not stop_ev.is_set():
        n += 1
        op = spend_op(run, f"{run.tag}-tw-{n}", run.talents[n % len(run.talents)]["id"], 2)
        barrier = threading.Barrier(len(bases))

        def go(base):
            barrier.wait()
            op.send(base)
            drop_connections()

        ths = [threading.Thread(target=go, args=(b,)) for b in bases]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        out.append(op)
        time.sleep(0.2)


def drill(run):
    a = run.args
    env_ = {"KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT": str(LIMIT), "KARTEL_API_KEY_CACHE_SECONDS": str(a.key_cache)}
    A = run.service("a", a.port, env_)
    B = run.service("b", a.port + 1, env_)
    setup(run, A)
    took = B.start()
    run.event(f"b started on {B.url} (pid {B.pid}, {took:.1f}s); both share {run.db_name} and Redis prefix {run.prefix}")
    load = Load(run, [A.url, B.url])
    load.start()
    run.cleanups.append(load.stop)
    twin_ops: list = []
    twin_stop = threading.Event()
    tw = threading.Thread(target=twins, args=(run, [A.url, B.url], twin_stop, twin_ops), daemon=True)
    tw.start()
    time.sleep(a.seconds)

    # ---- the sign-in limit counts across both
    email = f"limit-{run.tag}@drill.example.com"
    rl = []
    for i in range(LIMIT + 2):
        base = (A.url, B.url)[i % 2]
        rl.append(call(base, "POST", "/api/v1/auth/login", {"email": email, "password": "not the password"},
                       fresh=True))
    counter = redis_cmd(run.redis_url, "GET", f"{run.prefix}:rl:login:acct:{email}")
    labels = [f"{'ab'[i % 2]}:{r.label()}" for i, r in enumerate(rl)]
    run.expect([r.label() for r in rl] == ["401 invalid_credentials"] * LIMIT + ["429 rate_limited"] * 2
               and str(counter) == str(LIMIT + 2),
               f"the per-account sign-in limit ({LIMIT}/min) is shared: attempts alternate a, b; the {LIMIT + 1}th "
               "and later are 429 on either", f"{labels}, Redis counter {counter}")
    run.measure("rate_limit", {"attempts": labels, "redis_counter": counter})

    # ---- a suspension on a is honoured by b
    s = new_talent(run, A.url, "susp", grant=1000)
    lg = call(B.url, "POST", "/api/v1/auth/login", {"email": s["email"], "password": TALENT_PASSWORD}, fresh=True)
    if lg.status != 200:
        raise RuntimeError(f"suspension: login on b: {lg.label()}")
    bearer = f"Bearer {lg.json['access_token']}"
    before = spend_op(run, f"{run.tag}-susp-ok", s["id"], 1, api_key=bearer)
    before.send(B.url)
    run.extra_movements.append(before)
    run.expect(before.final is not None and before.final.status == 201,
               "suspension: the talent spends on b with their own token", before.final.label() if before.final else "")
    r = run.admin(A.url, "PATCH", f"/api/v1/admin/users/{s['id']}", {"status": "suspended"})
    t_susp = now()
    run.expect(r.status == 200 and r.json.get("status") == "suspended", "suspension: suspended on a", r.label())
    after = spend_op(run, f"{run.tag}-susp-after", s["id"], 1, api_key=bearer)
    x = after.send(B.url)
    relogin = call(B.url, "POST", "/api/v1/auth/login", {"email": s["email"], "password": TALENT_PASSWORD}, fresh=True)
    run.expect(x.status == 401 and relogin.status == 403,
               "suspension: b refuses the talent's next request at once (the session is gone) and their sign-in",
               f"spend on b {x.t1 - t_susp:.3f}s after the suspension: {x.label()}; sign-in on b: {relogin.label()}")
    run.measure("suspension", {"next_request_on_b": x.label(), "after_s": round(x.t1 - t_susp, 3),
                               "sign_in_on_b": relogin.label()})

    # ---- a key revoked on a stops on b within the cache time
    k = run.admin(A.url, "POST", "/api/v1/admin/api-keys", {"name": f"drill revoke {run.tag}", "scopes": ["credits:spend"]})
    if k.status != 201:
        raise RuntimeError(f"create key: {k.label()}")
    key2, key2_id = k.json["secret"], k.json["id"]
    talent = run.talents[1]["id"]
    on_b = []
    b_stop = threading.Event()

    def use_on_b():
        n = 0
        while not b_stop.is_set():
            n += 1
            op = spend_op(run, f"{run.tag}-k2-{n}", talent, 1, api_key=key2)
            op.send(B.url)
            on_b.append(op)
            time.sleep(0.05)
        drop_connections()

    tb = threading.Thread(target=use_on_b, daemon=True)
    tb.start()
    time.sleep(1.0)
    t_rev0 = now()
    rv = run.admin(A.url, "DELETE", f"/api/v1/admin/api-keys/{key2_id}")
    t_rev = now()
    on_a = spend_op(run, f"{run.tag}-k2-on-a", talent, 1, api_key=key2)
    ya = on_a.send(A.url)
    deadline = time.monotonic() + a.key_cache + 8
    while time.monotonic() < deadline:
        tail = on_b[-3:]
        if len(tail) == 3 and all(o.attempts and o.attempts[0].status == 401 and o.attempts[0].t0 > t_rev for o in tail):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    b_stop.set()
    tb.join(10)
    run.expect(rv.status == 204, "revocation: revoked on a", rv.label())
    run.expect(ya.status == 401 and ya.code() == "invalid_api_key", "revocation: a refuses the key at once",
               f"{ya.label()} {ya.t1 - t_rev:.3f}s after the revocation")
    first_401 = next((o.attempts[0] for o in on_b if o.attempts and o.attempts[0].status == 401), None)
    late_ok = [o.attempts[0] for o in on_b if o.attempts and o.attempts[0].ok and o.attempts[0].t0 > t_rev]
    last_ok_after = max((x.t0 - t_rev for x in late_ok), default=None)
    later_ok = [o for o in on_b if o.attempts and o.attempts[0].ok and first_401 and o.attempts[0].t0 > first_401.t1]
    stop_after = (first_401.t1 - t_rev0) if first_401 else None
    run.expect(first_401 is not None and stop_after <= a.key_cache + 0.5 and not later_ok,
               f"revocation: b stops accepting the key within the cache time ({a.key_cache}s + 0.5s) and never again",
               f"first 401 on b {stop_after:.2f}s after the revocation was sent; last success began "
               f"{last_ok_after if last_ok_after is None else round(last_ok_after, 2)}s after it; "
               f"{len(later_ok)} successes after the first 401" if first_401 else "b never refused it")
    run.measure("revocation", {
        "cache_seconds": a.key_cache,
        "first_refusal_on_b_after_s": round(stop_after, 2) if stop_after is not None else None,
        "accepted_on_b_after_revocation": len(late_ok),
        "on_b": dict(Counter(o.attempts[0].label() for o in on_b if o.attempts)),
    })
    # The spends b accepted are money that moved: they must be in the books.
    run.extra_movements.extend(o for o in on_b if o.final is not None and o.final.ok)
    unanswered_k2 = [o for o in on_b if o.final is None]
    run.expect(not unanswered_k2, "revocation: every request with the key got an answer", f"{len(unanswered_k2)}")

    time.sleep(1.0)
    twin_stop.set()
    tw.join(30)
    load.stop()
    run.cleanups.remove(load.stop)
    # Twins: both instances answered the one effect.
    split = []
    for op in twin_ops:
        ids = {op.ident(x) for x in op.attempts if x.definitive and x.code() != "idempotency_in_progress"}
        if len(ids) > 1 or any(not x.definitive for x in op.attempts):
            split.append(f"{op.key}: {[x.label() for x in op.attempts]} {ids}")
    run.expect(twin_ops and not split, "one key sent to both instances at once: one effect, the same answer from both",
               f"{len(twin_ops)} pairs" + (f"; {split[:3]}" if split else ""))
    twins_labels = Counter(" + ".join(sorted(x.label() for x in op.attempts)) for op in twin_ops)
    run.measure("twins", dict(twins_labels))
    run.extra_movements.extend(twin_ops)
    per = Counter(x.base for op in load.ops for x in op.attempts)
    run.measure("load_per_instance", {("a" if b == A.url else "b"): n for b, n in per.items()})
    run.measure("load", load_summary(load.ops))
    # Replays need credentials that still work: the load's key (and the twins').
    run.measure("resolve", resolve(run, load.ops + twin_ops, [A.url, B.url]))
    run.measure("books", verify_books(run, load.ops, B.url))


if __name__ == "__main__":
    p = base_parser(__doc__.splitlines()[0], seconds=8)
    p.add_argument("--key-cache", type=int, default=int(env("DRILL_KEY_CACHE", "2")),
                   help="KARTEL_API_KEY_CACHE_SECONDS of both instances (env DRILL_KEY_CACHE; the documented default 2)")
    main(drill, "two_instances", p)
