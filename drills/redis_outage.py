#!/usr/bin/env python3
"""Fault drill: Redis stopped mid-load and started again.

Under a load of spends, holds and captures (service key, Idempotency-Keys):
the service keeps answering, /readyz reports Redis `unavailable` (503) while
/healthz stays 200, the sign-in rate limit fails open (requests are let
through, none is refused as 429 or fails with 5xx), and once Redis is back the
same process counts in Redis again (no restart): the limit refuses the
attempt past it and the counter is in Redis. Ends with the ledger check clean
and every acknowledged movement in the books exactly once.
"""

import sys

sys.dont_write_bytecode = True

import time  # noqa: E402

from common import (  # noqa: E402
    Load, Prober, base_parser, call, describe, load_summary, main, now, redis_cmd, redis_up,
    resolve, run_cmd, setup, url_parts, verify_books, attempts_of, env, TALENT_PASSWORD,
)

LIMIT = 3  # KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT for this drill


def limit_probe(run, base, label, attempts):
    """Wrong-password sign-ins of one fresh email, in a row."""
    email = f"limit-{label}-{run.tag}@drill.example.com"
    out = []
    for i in range(attempts):
        # A fresh connection first: a kept-alive one may have been closed as idle.
        r = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": "not the password"},
                 fresh=(i == 0))
        out.append(r)
    counter = None
    try:
        counter = redis_cmd(run.redis_url, "GET", f"{run.prefix}:rl:login:acct:{email}")
    except (OSError, RuntimeError, ConnectionError):
        counter = "redis unreachable"
    return email, out, counter


def drill(run):
    a = run.args
    u = url_parts(run.redis_url)
    host, port = u.hostname or "127.0.0.1", u.port or 6379
    stop_cmd = a.redis_stop.replace("{host}", host).replace("{port}", str(port))
    start_cmd = a.redis_start.replace("{host}", host).replace("{port}", str(port))
    api = run.service("api", a.port, {"KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT": str(LIMIT)})
    if not redis_up(run.redis_url):
        raise RuntimeError(f"Redis at {run.redis_url} does not answer PING before the drill")
    setup(run, api)
    pid = api.pid
    probe = Prober(api.url, "/readyz", 0.2).start()
    run.cleanups.append(probe.stop)
    load = Load(run, [api.url])
    load.start()
    run.cleanups.append(load.stop)
    time.sleep(a.seconds)

    email, rs, counter = limit_probe(run, api.url, "before", LIMIT + 1)
    labels = [r.label() for r in rs]
    run.expect(labels == ["401 invalid_credentials"] * LIMIT + ["429 rate_limited"]
               and "retry-after" in rs[-1].headers and str(counter) == str(LIMIT + 1),
               f"before the outage the per-account sign-in limit ({LIMIT}/min) counts in Redis",
               f"{labels}, counter {counter}")

    # -- Redis goes away
    t_stop = now()
    run_cmd(run, "stop Redis", stop_cmd)

    def restart_redis():
        if not redis_up(run.redis_url):
            run_cmd(run, "start Redis again (clean-up)", start_cmd)
    run.cleanups.append(restart_redis)

    deadline = time.monotonic() + 15
    degraded = None
    while time.monotonic() < deadline and degraded is None:
        degraded = probe.first(lambda s: s.status == 503 and isinstance(s.json, dict)
                               and s.json.get("redis") == "unavailable", after=t_stop)
        time.sleep(0.1)
    run.expect(degraded is not None and degraded.json.get("database") == "ok",
               "/readyz reports the degradation (503, redis unavailable, database ok)",
               f"after {degraded.t1 - t_stop:.2f}s: {degraded.json}" if degraded else "never seen")
    if degraded:
        run.measure("readyz_degraded_after_s", round(degraded.t1 - t_stop, 2))
    h = call(api.url, "GET", "/healthz", timeout=10, fresh=True)
    run.expect(h.status == 200, "/healthz stays 200 while Redis is down", h.label())

    email2, rs2, counter2 = limit_probe(run, api.url, "during", LIMIT + 2)
    labels2 = [r.label() for r in rs2]
    lat2 = [round(r.latency, 2) for r in rs2]
    run.expect(all(x == "401 invalid_credentials" for x in labels2),
               f"while Redis is down the sign-in limit fails open ({LIMIT + 2} attempts past a limit of {LIMIT}: "
               "none refused, none 5xx)", f"{labels2}, latencies {lat2}s")
    run.measure("sign_in_latency_during_outage_s", lat2)
    good = call(api.url, "POST", "/api/v1/auth/login",
                {"email": run.talents[0]["email"], "password": TALENT_PASSWORD}, fresh=True)
    run.expect(good.status == 200, "a talent can sign in while Redis is down", f"{good.label()} in {good.latency:.2f}s")

    rest = a.outage_seconds - (now() - t_stop)
    if rest > 0:
        time.sleep(rest)

    # -- Redis comes back
    t_start = now()
    run_cmd(run, "start Redis", start_cmd)
    deadline = time.monotonic() + 10
    while not redis_up(run.redis_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    ready = None
    while time.monotonic() < deadline and ready is None:
        ready = probe.first(lambda s: s.status == 200 and isinstance(s.json, dict)
                            and s.json.get("redis") == "ok", after=t_start)
        time.sleep(0.1)
    run.expect(ready is not None, "/readyz is 200 again once Redis is back, without a restart",
               f"after {ready.t1 - t_start:.2f}s" if ready else "not within 30s")
    if ready:
        run.measure("readyz_recovered_after_s", round(ready.t1 - t_start, 2))

    email3, rs3, counter3 = limit_probe(run, api.url, "after", LIMIT + 1)
    labels3 = [r.label() for r in rs3]
    run.expect(labels3 == ["401 invalid_credentials"] * LIMIT + ["429 rate_limited"]
               and str(counter3) == str(LIMIT + 1),
               "after the outage the same process counts in Redis again (limit refuses the attempt past it)",
               f"{labels3}, counter {counter3}")
    run.expect(api.alive() and api.pid == pid, "the service was not restarted", f"pid {pid}")
    time.sleep(3)
    load.stop()
    run.cleanups.remove(load.stop)
    probe.stop()
    run.cleanups.remove(probe.stop)

    t_end_outage = ready.t1 if ready else now()
    during = [x for _, x in attempts_of(load.ops) if x.t1 >= t_stop and x.t0 <= t_end_outage]
    d = describe(during)
    run.measure("load_during_outage", d)
    bad = {k: v for k, v in d["statuses"].items() if not k.startswith("20")}
    run.expect(d["requests"] > 0 and not bad,
               "the service keeps answering the money-moving load while Redis is down",
               f"{d['requests']} requests, {d['statuses']}, max {d['max_latency_s']}s")
    readyz_503 = [s for s in probe.samples if s.t0 >= t_stop and s.status == 503]
    run.measure("readyz_503_samples", len(readyz_503))
    run.measure("load", load_summary(load.ops))
    run.measure("resolve", resolve(run, load.ops, [api.url]))
    run.measure("books", verify_books(run, load.ops, api.url))
    run.measure("outage_s", round(t_start - t_stop, 2))


if __name__ == "__main__":
    p = base_parser(__doc__.splitlines()[0], seconds=5)
    p.add_argument("--redis-stop", default=env("DRILL_REDIS_STOP", "redis-cli -h {host} -p {port} shutdown nosave"),
                   help="command that stops Redis (env DRILL_REDIS_STOP; {host} and {port} come from the Redis URL)")
    p.add_argument("--redis-start", default=env(
        "DRILL_REDIS_START", "redis-server --daemonize yes --bind {host} --port {port} --save '' --appendonly no"),
        help="command that starts it again (env DRILL_REDIS_START)")
    p.add_argument("--outage-seconds", type=float, default=float(env("DRILL_OUTAGE_SECONDS", "8")),
                   help="how long Redis stays down (env DRILL_OUTAGE_SECONDS)")
    main(drill, "redis_outage", p)
