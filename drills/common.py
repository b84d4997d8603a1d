"""Shared machinery of the fault drills (issue 16): the service processes, the
setup (a fresh database, an admin, a service key, funded talents), the load of
spends, holds and captures with idempotency keys, and the final check.

Python 3.11, standard library only. Each drill script builds a `Run`, calls
`setup`, drives its fault while a `Load` runs, then `resolve` (every request
that got no definitive answer is retried with its key until it gets one, and
once more to see the same answer) and `verify_books` (the ledger check is
clean and every acknowledged movement is in the books exactly once, nothing
else is, and balances add up).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# domain/src/db.rs: the pool waits this long for a connection (or for
# PostgreSQL to accept one) before the request fails with 503.
DB_ACQUIRE_TIMEOUT_S = 10.0
ADMIN_EMAIL = "drill-admin@example.com"
ADMIN_PASSWORD = "a long drill admin password"
TALENT_PASSWORD = "a long drill talent password"
GRANT = 1_000_000
CLIENT_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------
# Options


def env(name: str, default):
    v = os.environ.get(name)
    return default if v is None or v == "" else v


def base_parser(description: str, seconds: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bin", default=env("KARTEL_BIN", ""),
                   help="the kartel binary (env KARTEL_BIN; default: `cargo build -q`, then target/debug/kartel)")
    p.add_argument("--database-url", default=env("DRILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
                   help="a PostgreSQL server to drill on (env DRILL_DATABASE_URL); a fresh database "
                        "kartel_drill_<drill>_<time> is created there and dropped afterwards")
    p.add_argument("--redis-url", default=env("DRILL_REDIS_URL", "redis://127.0.0.1:6379"),
                   help="Redis (env DRILL_REDIS_URL); keys go under a prefix of this run")
    p.add_argument("--port", type=int, default=int(env("DRILL_PORT", "18080")),
                   help="the service's port (env DRILL_PORT; a second instance uses port+1)")
    p.add_argument("--seconds", type=float, default=float(env("DRILL_SECONDS", str(seconds))),
                   help=f"load before the fault (env DRILL_SECONDS, default {seconds})")
    p.add_argument("--threads", type=int, default=int(env("DRILL_THREADS", "6")),
                   help="client threads of the load (env DRILL_THREADS)")
    p.add_argument("--talents", type=int, default=int(env("DRILL_TALENTS", "8")),
                   help="funded talents the load spends for (env DRILL_TALENTS)")
    p.add_argument("--log-dir", default=env("DRILL_LOG_DIR", "/tmp/kartel-drills"),
                   help="service logs and result.json go to <log-dir>/<drill>-<time>/ (env DRILL_LOG_DIR)")
    p.add_argument("--keep-db", action="store_true", default=env("DRILL_KEEP_DB", "") not in ("", "0"),
                   help="keep the drill's database (env DRILL_KEEP_DB=1)")
    return p


def url_parts(url: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(url)


# --------------------------------------------------------------------------
# HTTP


class Resp:
    __slots__ = ("status", "headers", "body", "json", "error", "kind", "t0", "t1", "base", "wall")

    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = b""
        self.json = None
        self.error = None
        self.kind = None  # ok | refusal | 5xx | timeout | refused | dropped
        self.t0 = self.t1 = 0.0
        self.base = ""
        self.wall = 0.0

    @property
    def latency(self) -> float:
        return self.t1 - self.t0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def definitive(self) -> bool:
        """An answer the server stands by: success or refusal (4xx). A 5xx or
        no answer at all is not: retry with the same key."""
        return self.status is not None and self.status < 500

    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    def label(self) -> str:
        if self.status is None:
            return self.kind
        c = self.code()
        return f"{self.status} {c}" if c and self.status >= 400 else str(self.status)


_local = threading.local()
T0 = time.monotonic()


def now() -> float:
    """Seconds since the drill started."""
    return time.monotonic() - T0


def call(base: str, method: str, path: str, body=None, headers=None,
         timeout: float = CLIENT_TIMEOUT_S, fresh: bool = False) -> Resp:
    """One HTTP request on this thread's keep-alive connection to `base`.
    Never raises: a failure is a Resp with status None and `kind` timeout
    (no answer in time), refused (never sent) or dropped (sent, no answer)."""
    u = url_parts(base)
    key = (u.hostname, u.port)
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(key)
    if conn is None or fresh:
        if conn is not None:
            conn.close()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        conns[key] = conn
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    data = None
    hdrs = {}
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["content-type"] = "application/json"
    hdrs.update(headers or {})
    r = Resp()
    r.base = base
    r.wall = time.time()
    r.t0 = now()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        r.body = res.read()
        r.t1 = now()
        r.status = res.status
        r.headers = {k.lower(): v for k, v in res.getheaders()}
        ctype = r.headers.get("content-type", "")
        if "json" in ctype and r.body:
            try:
                r.json = json.loads(r.body)
            except ValueError:
                r.json = None
        r.kind = "ok" if r.status < 400 else ("refusal" if r.status < 500 else "5xx")
        if r.headers.get("connection", "").lower() == "close":
            conn.close()
            conns.pop(key, None)
    except (OSError, http.client.HTTPException) as e:
        r.t1 = now()
        r.error = f"{type(e).__name__}: {e}"
        if isinstance(e, (TimeoutError, socket.timeout)):
            r.kind = "timeout"
        elif isinstance(e, ConnectionRefusedError):
            r.kind = "refused"
        else:
            r.kind = "dropped"
        conn.close()
        conns.pop(key, None)
    return r


def drop_connections():
    for c in getattr(_local, "conns", {}).values():
        c.close()
    _local.conns = {}


# --------------------------------------------------------------------------
# Redis (a few commands over RESP, for looking at the rate-limit counters)


def redis_cmd(url: str, *args, timeout: float = 2.0):
    u = url_parts(url)
    with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=timeout) as s:
        f = s.makefile("rb")

        def send(*a):
            out = [f"*{len(a)}\r\n".encode()]
            for x in a:
                b = str(x).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(b), b))
            s.sendall(b"".join(out))

        def read():
            line = f.readline()
            if not line:
                raise ConnectionError("redis closed the connection")
            t, rest = line[:1], line[1:-2]
            if t == b"+":
                return rest.decode()
            if t == b"-":
                raise RuntimeError(rest.decode())
            if t == b":":
                return int(rest)
            if t == b"$":
                n = int(rest)
                if n < 0:
                    return None
                data = f.read(n + 2)[:-2]
                return data.decode()
            if t == b"*":
                n = int(rest)
                return None if n < 0 else [read() for _ in range(n)]
            raise RuntimeError(f"unexpected reply {line!r}")

        if u.password:
            send("AUTH", *(filter(None, [u.username, u.password])))
            read()
        db = (u.path or "/").lstrip("/")
        if db:
            send("SELECT", db)
            read()
        send(*args)
        return read()


def redis_up(url: str) -> bool:
    try:
        return redis_cmd(url, "PING", timeout=0.5) == "PONG"
    except (OSError, RuntimeError, ConnectionError):
        return False


# --------------------------------------------------------------------------
# PostgreSQL (psql) helpers


def psql(url: str, sql: str, timeout: float = 60) -> str:
    out = subprocess.run(["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def with_db(url: str, dbname: str) -> str:
    u = url_parts(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


class RowLock:
    """Holds one talent's balance row `FOR UPDATE` in an open psql
    transaction: that talent's spends, holds and captures wait inside the
    service (in flight) until `release`."""

    def __init__(self, db_url: str, talent_id: str):
        self.p = subprocess.Popen(["psql", db_url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.p.stdin.write("BEGIN;\n"
                           f"SELECT 'locked ' || count(*) FROM (SELECT 1 FROM ledger_accounts "
                           f"WHERE talent_id = '{talent_id}' FOR UPDATE) l;\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        if line != "locked 1":
            raise RuntimeError(f"could not lock the balance row of {talent_id}: {line!r}")

    def release(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("ROLLBACK;\n\\q\n")
                self.p.stdin.flush()
                self.p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()


# --------------------------------------------------------------------------
# The service


def kartel_bin(given: str) -> str:
    if given:
        return given
    print("building the service: cargo build -q", flush=True)
    subprocess.run(["cargo", "build", "-q"], cwd=REPO, check=True)
    return str(REPO / "target" / "debug" / "kartel")


class Service:
    """One `kartel` process, its output appended to <run dir>/<name>.log."""

    def __init__(self, run: "Run", name: str, port: int, extra_env: dict | None = None):
        self.run = run
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.log_path = run.dir / f"{name}.log"
        self.starts = 0

    def env(self) -> dict:
        return self.run.service_env(self.port, self.extra_env)

    def start(self, timeout: float = 90):
        logf = open(self.log_path, "ab")
        logf.write(f"\n===== start {self.starts + 1} at {_dt.datetime.now().isoformat()} =====\n".encode())
        logf.flush()
        self.proc = subprocess.Popen([self.run.bin, "serve"], env=self.env(), cwd=self.run.dir,
                                     stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        self.starts += 1
        t = time.monotonic()
        self.wait_healthy(timeout)
        return time.monotonic() - t

    def wait_healthy(self, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while starting; see {self.log_path}")
            r = call(self.url, "GET", "/healthz", timeout=2, fresh=True)
            if r.status == 200:
                drop_connections()
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout}s; see {self.log_path}")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout: float):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait_exit(40) is None:
                self.signal(signal.SIGKILL)
                self.wait_exit(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


# --------------------------------------------------------------------------
# A drill run: its checks, measurements, setup and clean-up


class Run:
    def __init__(self, drill: str, args):
        self.drill = drill
        self.args = args
        stamp = _dt.datetime.now().strftime("%Y%m%d%H%M%S")
        self.tag = f"{drill[:6]}{stamp[-6:]}{os.getpid() % 1000:03d}"
        self.dir = Path(args.log_dir) / f"{drill}-{stamp}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bin = kartel_bin(args.bin)
        self.server_url = args.database_url
        self.db_name = f"kartel_drill_{drill}_{stamp}"
        self.db_url = with_db(args.database_url, self.db_name)
        self.redis_url = args.redis_url
        self.prefix = f"drill-{self.tag}"
        self.base_env: dict = {}
        self.services: list[Service] = []
        self.checks: list[tuple[str, bool, str]] = []
        self.measured: dict = {}
        self.admin_token = None
        self.admin_token_at = 0.0
        self.api_key = None
        self.api_key_id = None
        self.talents: list[dict] = []
        self.grants: dict[str, dict] = {}  # talent id -> the grant transaction
        self.extra_movements: list = []    # ops outside the Load (also checked)
        self.cleanups: list = []
        self.started = _dt.datetime.now(_dt.timezone.utc)
        self.event(f"drill {drill}: logs in {self.dir}")

    # -- bookkeeping

    def event(self, msg: str):
        print(f"[{now():7.2f}s] {msg}", flush=True)

    def expect(self, ok: bool, name: str, detail: str = "") -> bool:
        self.checks.append((name, bool(ok), detail))
        mark = "PASS" if ok else "FAIL"
        print(f"[{now():7.2f}s] {mark} {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def measure(self, key: str, value):
        self.measured[key] = value

    # -- the service's environment

    def service_env(self, port: int, extra: dict) -> dict:
        e = {k: v for k, v in os.environ.items()
             if not (k.startswith("KARTEL_") or k in ("DATABASE_URL", "REDIS_URL", "RUST_LOG"))}
        e.update({
            "DATABASE_URL": self.db_url,
            "KARTEL_ADDR": f"127.0.0.1:{port}",
            "KARTEL_SIGNING_KEY_FILE": str(self.dir / "signing-key.pem"),
            "KARTEL_REDIS_PREFIX": self.prefix,
            # The load signs in a few people from one IP; the per-account
            # limit is what the drills look at.
            "KARTEL_AUTH_RATE_LIMIT_PER_IP": "100000",
            "KARTEL_CONFIG": str(self.dir / "no-such-kartel.toml"),
            "KARTEL_WORKERS": "2",
        })
        if self.redis_url:
            e["REDIS_URL"] = self.redis_url
        e.update(self.base_env)
        e.update(extra)
        return e

    def service(self, name: str, port: int, extra_env: dict | None = None) -> Service:
        s = Service(self, name, port, extra_env)
        self.services.append(s)
        return s

    # -- admin helpers

    def admin_headers(self, base: str) -> dict:
        if self.admin_token is None or time.monotonic() - self.admin_token_at > 600:
            r = retrying(lambda: call(base, "POST", "/api/v1/auth/login",
                                      {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            if r.status != 200:
                raise RuntimeError(f"admin login: {r.label()} {r.body[:300]!r}")
            self.admin_token = r.json["access_token"]
            self.admin_token_at = time.monotonic()
        return {"authorization": f"Bearer {self.admin_token}"}

    def admin(self, base: str, method: str, path: str, body=None, headers=None) -> Resp:
        h = self.admin_headers(base)
        h.update(headers or {})
        return retrying(lambda: call(base, method, path, body, h))

    # -- the end

    def finish(self) -> int:
        self.cleanup()  # stops the services first: a panic while stopping counts too
        for s in self.services:
            text = s.log()
            panics = [ln for ln in text.splitlines() if "panicked" in ln]
            self.expect(not panics, f"no panic in {s.name}'s log", "; ".join(panics[:3]))
        ok = all(c[1] for c in self.checks)
        result = {
            "drill": self.drill,
            "started": self.started.isoformat(),
            "passed": ok,
            "measured": self.measured,
            "checks": [{"name": n, "ok": o, "detail": d} for n, o, d in self.checks],
            "logs": str(self.dir),
        }
        (self.dir / "result.json").write_text(json.dumps(result, indent=2, default=str))
        print()
        print(f"===== {self.drill}: {'PASS' if ok else 'FAIL'} "
              f"({sum(c[1] for c in self.checks)}/{len(self.checks)} checks) =====")
        for k, v in self.measured.items():
            print(f"  {k}: {v}")
        failed = [c for c in self.checks if not c[1]]
        for n, _, d in failed:
            print(f"  FAILED: {n}" + (f": {d}" if d else ""))
        print(f"  logs and result.json: {self.dir}")
        return 0 if ok else 1

    def cleanup(self):
        for f in reversed(self.cleanups):
            try:
                f()
            except Exception as e:  # noqa: BLE001 - best effort
                print(f"cleanup: {e}", file=sys.stderr)
        self.cleanups.clear()
        for s in self.services:
            s.stop()
        if not self.args.keep_db:
            try:
                psql(self.server_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001
                print(f"could not drop {self.db_name}: {e}", file=sys.stderr)


def retrying(f, attempts: int = 60, pause: float = 0.5) -> Resp:
    """For setup and checking, not for the measured load: retries while the
    answer is a 5xx or no answer."""
    r = f()
    for _ in range(attempts):
        if r.definitive:
            return r
        time.sleep(pause)
        r = f()
    return r


def main(drill_fn, drill: str, parser: argparse.ArgumentParser):
    args = parser.parse_args()
    run = Run(drill, args)
    try:
        drill_fn(run)
    except Exception as e:  # noqa: BLE001 - the drill reports, then cleans up
        import traceback
        traceback.print_exc()
        run.expect(False, "the drill ran to its end", f"{type(e).__name__}: {e}")
    sys.exit(run.finish())


# --------------------------------------------------------------------------
# Setup


def setup(run: Run, first: Service):
    """A fresh database, migrations, an admin, `first` started, a service key,
    talents registered and funded."""
    psql(run.server_url, f'CREATE DATABASE "{run.db_name}"')
    env = first.env()
    out = subprocess.run([run.bin, "migrate"], env=env, cwd=run.dir, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"kartel migrate: {out.stdout}{out.stderr}")
    out = subprocess.run([run.bin, "admin", "create", "--email", ADMIN_EMAIL], env=env, cwd=run.dir,
                         input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"kartel admin create: {out.stdout}{out.stderr}")
    took = first.start()
    run.event(f"{first.name} started on {first.url} (pid {first.pid}, {took:.1f}s)")
    base = first.url
    r = run.admin(base, "POST", "/api/v1/admin/api-keys",
                  {"name": f"drill {run.tag}", "scopes": ["credits:hold", "credits:spend"]})
    if r.status != 201:
        raise RuntimeError(f"create api key: {r.label()} {r.body[:300]!r}")
    run.api_key = r.json["secret"]
    run.api_key_id = r.json["id"]
    for i in range(run.args.talents):
        run.talents.append(new_talent(run, base, f"t{i}"))
    run.event(f"setup: admin, service key, {len(run.talents)} talents granted {GRANT} credits each")


def new_talent(run: Run, base: str, label: str, grant: int = GRANT) -> dict:
    email = f"{label}-{run.tag}@drill.example.com".lower()
    handle = f"{label}_{run.tag}"[:32]
    r = retrying(lambda: call(base, "POST", "/api/v1/auth/register",
                              {"email": email, "password": TALENT_PASSWORD, "handle": handle,
                               "display_name": f"Drill {label}"}))
    if r.status != 201:
        raise RuntimeError(f"register {email}: {r.label()} {r.body[:300]!r}")
    t = {"id": r.json["id"], "email": email}
    if grant:
        g = run.admin(base, "POST", "/api/v1/credits/grants",
                      {"talent_id": t["id"], "amount": grant, "reason": f"drill grant {run.tag}"},
                      {"idempotency-key": f"grant-{run.tag}-{t['id']}"})
        if g.status != 201:
            raise RuntimeError(f"grant: {g.label()} {g.body[:300]!r}")
        run.grants[t["id"]] = g.json
    return t


# --------------------------------------------------------------------------
# The load


class Op:
    """One money-moving request: its key and body never change; every attempt
    (the load's one, then the retries) is kept."""

    __slots__ = ("kind", "key", "talent", "path", "body", "api_key", "attempts", "retries", "final",
                 "hold_amount", "thread")

    def __init__(self, kind, key, talent, path, body, api_key, hold_amount=None, thread=-1):
        self.kind = kind
        self.key = key
        self.talent = talent
        self.path = path
        self.body = body
        self.api_key = api_key
        self.attempts: list[Resp] = []
        self.retries: list[Resp] = []
        self.final: Resp | None = None
        self.hold_amount = hold_amount
        self.thread = thread

    def send(self, base: str, timeout: float = CLIENT_TIMEOUT_S, retry: bool = False) -> Resp:
        headers = {"idempotency-key": self.key}
        if self.api_key.startswith("Bearer "):
            headers["authorization"] = self.api_key
        else:
            headers["x-api-key"] = self.api_key
        r = call(base, "POST", self.path, self.body, headers, timeout=timeout)
        (self.retries if retry else self.attempts).append(r)
        if r.definitive and self.final is None:
            self.final = r
        return r

    def ident(self, r: Resp):
        """What identifies the effect in an answer."""
        if not r.ok or not isinstance(r.json, dict):
            return (r.status, r.code())
        if self.kind == "capture":
            return (r.status, r.json.get("id"), r.json.get("capture_transaction_id"), r.json.get("captured_amount"))
        return (r.status, r.json.get("id"), r.json.get("amount"))


def spend_op(run: Run, key: str, talent: str, amount: int, api_key: str | None = None, thread=-1) -> Op:
    body = {"talent_id": talent, "amount": amount, "purpose": f"drill spend {key}"}
    return Op("spend", key, talent, "/api/v1/credits/spends", body, api_key or run.api_key, thread=thread)


def hold_op(run: Run, key: str, talent: str, amount: int, thread=-1) -> Op:
    body = {"talent_id": talent, "amount": amount, "purpose": f"drill hold {key}", "expires_in_seconds": 3600}
    return Op("hold", key, talent, "/api/v1/credits/holds", body, run.api_key, hold_amount=amount, thread=thread)


def capture_op(run: Run, key: str, hold: dict, amount: int | None, thread=-1) -> Op:
    body = {"amount": amount} if amount is not None else {}
    return Op("capture", key, hold["talent_id"], f"/api/v1/credits/holds/{hold['id']}/capture", body,
              run.api_key, hold_amount=hold["amount"], thread=thread)


class Load:
    """`threads` clients, each in a loop: a spend, a hold, or a capture of one
    of the holds it made (part or all), for a random talent, each with a fresh
    Idempotency-Key, against `bases` in turn. One attempt per request: what
    got no definitive answer is left for `resolve`."""

    def __init__(self, run: Run, bases, threads: int | None = None, talents=None, seed: int = 16):
        self.run = run
        self.bases = list(bases)
        self.threads = threads or run.args.threads
        self.talents = talents or [t["id"] for t in run.talents]
        self.seed = seed
        self.ops: list[Op] = []
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.workers: list[threading.Thread] = []

    def start(self):
        for i in range(self.threads):
            th = threading.Thread(target=self._loop, args=(i,), daemon=True)
            th.start()
            self.workers.append(th)
        self.run.event(f"load: {self.threads} clients on {', '.join(self.bases)}")

    def stop(self):
        self.stop_ev.set()
        for th in self.workers:
            th.join(CLIENT_TIMEOUT_S + 5)
        drop_connections()
        n = len(self.ops)
        self.run.event(f"load stopped: {n} requests")

    def _loop(self, i: int):
        rng = random.Random(self.seed * 1000 + i)
        pending: list[dict] = []
        seq = 0
        tag = self.run.tag
        while not self.stop_ev.is_set():
            seq += 1
            base = self.bases[(seq + i) % len(self.bases)]
            x = rng.random()
            talent = rng.choice(self.talents)
            if pending and x < 0.25:
                hold = pending.pop(rng.randrange(len(pending)))
                amount = None if rng.random() < 0.3 else rng.randint(1, hold["amount"])
                op = capture_op(self.run, f"{tag}-c-{i}-{seq}", hold, amount, thread=i)
            elif x < 0.55:
                op = hold_op(self.run, f"{tag}-h-{i}-{seq}", talent, rng.randint(1, 20), thread=i)
            else:
                op = spend_op(self.run, f"{tag}-s-{i}-{seq}", talent, rng.randint(1, 10), thread=i)
            with self.lock:
                self.ops.append(op)
            r = op.send(base)
            if op.kind == "hold" and r.ok:
                pending.append(r.json)
            if not r.definitive:
                # Do not spin while the service is away.
                time.sleep(0.05)
        drop_connections()


# --------------------------------------------------------------------------
# Measuring


def attempts_of(ops):
    for op in ops:
        for a in op.attempts:
            yield op, a


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def describe(attempts) -> dict:
    lat = [a.latency for a in attempts]
    return {
        "requests": len(attempts),
        "statuses": dict(Counter(a.label() for a in attempts).most_common()),
        "max_latency_s": round(max(lat), 3) if lat else None,
        "p50_latency_s": round(pct(lat, 0.5), 3) if lat else None,
    }


def gap(ops, t_fault: float, t_back: float | None = None) -> dict:
    """The window from the fault to the end of the last request that failed
    (no answer or 5xx) after it — or, when later, of the last request sent
    before the dependency was back (`t_back`) — and the requests that
    overlapped it."""
    fails = [a for _, a in attempts_of(ops) if a.t1 >= t_fault and not a.ok]
    end = max((a.t1 for a in fails), default=t_fault)
    if t_back is not None:
        end = max([end] + [a.t1 for _, a in attempts_of(ops) if t_fault <= a.t1 and a.t0 < t_back])
    inside = [a for _, a in attempts_of(ops) if a.t1 >= t_fault and a.t0 <= end]
    d = describe(inside)
    d.update({"from_s": round(t_fault, 2), "to_s": round(end, 2), "length_s": round(end - t_fault, 2),
              "failed": len(fails)})
    return d


# --------------------------------------------------------------------------
# Resolving what got no answer, and checking replays


def resolve(run: Run, ops, bases, max_wait: float = 120, sample: int = 60) -> dict:
    """Retries every request that got no definitive answer with its key and
    body until it gets one, then once more: the second answer must be the
    first. Also replays a sample of acknowledged requests (and every request
    that took more than one attempt): each must answer as the first time."""
    unresolved = [op for op in ops if op.final is None]
    rng = random.Random(7)
    deadline = time.monotonic() + max_wait
    applied_before = 0
    bad = []
    for n, op in enumerate(unresolved):
        base = bases[n % len(bases)]
        t_retry = time.time()
        while True:
            r = op.send(base, retry=True)
            if r.definitive:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(min(float(r.headers.get("retry-after", "0.5") or 0.5), 2.0))
        if op.final is None:
            bad.append(f"{op.key}: no definitive answer ({r.label()})")
            continue
        if op.final.ok and isinstance(op.final.json, dict):
            created = op.final.json.get("created_at")
            if op.kind == "capture":
                created = op.final.json.get("resolved_at")
            if created and _dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() < t_retry:
                applied_before += 1
    acknowledged = [op for op in ops if op.final is not None and op not in unresolved]
    multi = [op for op in acknowledged if len(op.attempts) > 1]
    replay_set = unresolved + multi + rng.sample(acknowledged, min(sample, len(acknowledged)))
    mismatched = []
    for n, op in enumerate(replay_set):
        if op.final is None:
            continue
        r = op.send(bases[(n + 1) % len(bases)], retry=True)
        if op.ident(r) != op.ident(op.final):
            mismatched.append(f"{op.key}: first {op.ident(op.final)}, replay {op.ident(r)}")
    out = {
        "unanswered": len(unresolved),
        "unanswered_statuses": dict(Counter(op.attempts[-1].label() for op in unresolved if op.attempts)),
        "resolved": len(unresolved) - len(bad),
        "already_applied_before_retry": applied_before,
        "retry_outcomes": dict(Counter(op.final.label() for op in unresolved if op.final is not None)),
        "replays_checked": len(replay_set),
    }
    run.expect(not bad, "every unanswered request gets a definitive answer when retried with its key",
               f"{len(unresolved)} retried" + (f"; {bad[:3]}" if bad else ""))
    run.expect(not mismatched, "a retry with the same key answers as the first answer did",
               f"{len(replay_set)} replayed" + (f"; {mismatched[:3]}" if mismatched else ""))
    return out


# --------------------------------------------------------------------------
# The books


def pages(run: Run, base: str, path: str) -> list:
    items, cursor = [], None
    while True:
        q = f"{path}?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        r = run.admin(base, "GET", q)
        if r.status != 200:
            raise RuntimeError(f"GET {q}: {r.label()} {r.body[:200]!r}")
        items.extend(r.json["items"])
        cursor = r.json.get("next_cursor")
        if not cursor:
            return items


def dump_attempts(run: Run, ops, name: str = "attempts.csv"):
    """Every attempt of every request, for looking into a run afterwards."""
    import csv
    with open(run.dir / name, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["op", "key", "talent", "phase", "base", "t0_s", "t1_s", "latency_s", "status", "code",
                    "outcome", "retry_after", "error"])
        for op in ops:
            for phase, lst in (("load", op.attempts), ("retry", op.retries)):
                for a in lst:
                    w.writerow([op.kind, op.key, op.talent, phase, a.base, f"{a.t0:.3f}", f"{a.t1:.3f}",
                                f"{a.latency:.3f}", a.status, a.code(), a.kind,
                                a.headers.get("retry-after", ""), a.error or ""])


def verify_books(run: Run, ops, base: str) -> dict:
    """The ledger check is clean; per talent, the transactions and holds in
    the books are exactly the acknowledged ones (each once, by id and by its
    unique memo), and the balance is granted − spent − captured − held."""
    ops = list(ops) + list(run.extra_movements)
    dump_attempts(run, ops)
    finals = [op for op in ops if op.final is not None]
    refused = [op for op in finals if not op.final.ok]
    run.expect(not refused, "no request of the load was refused",
               "" if not refused else f"{len(refused)}: " + ", ".join(f"{o.key} {o.final.label()}" for o in refused[:5]))
    want_tx = defaultdict(dict)     # talent -> tx id -> (amount, memo)
    want_holds = defaultdict(dict)  # talent -> hold id -> (status, amount, captured)
    for tid, g in run.grants.items():
        want_tx[tid][g["id"]] = (g["amount"], g["memo"])
    holds_by_id = {}
    for op in finals:
        if not op.final.ok:
            continue
        j = op.final.json
        if op.kind == "spend":
            want_tx[op.talent][j["id"]] = (-op.body["amount"], op.body["purpose"])
        elif op.kind == "hold":
            holds_by_id[j["id"]] = j
            want_holds[op.talent][j["id"]] = ["pending", j["amount"], None, j["purpose"]]
    for op in finals:
        if op.kind == "capture" and op.final.ok:
            j = op.final.json
            want_tx[op.talent][j["capture_transaction_id"]] = (-j["captured_amount"], j["purpose"])
            want_holds[op.talent][j["id"]] = ["captured", j["amount"], j["captured_amount"], j["purpose"]]
    problems = []
    moved = 0
    talents = sorted(set(list(want_tx) + list(want_holds) + [t["id"] for t in run.talents]))
    for tid in talents:
        txs = pages(run, base, f"/api/v1/talents/{tid}/credits/transactions")
        holds = pages(run, base, f"/api/v1/talents/{tid}/credits/holds")
        bal = run.admin(base, "GET", f"/api/v1/talents/{tid}/credits").json
        ids = Counter(t["id"] for t in txs)
        memos = Counter(t["memo"] for t in txs)
        dup = [i for i, n in ids.items() if n > 1]
        if dup:
            problems.append(f"{tid}: transactions listed twice {dup[:3]}")
        want = want_tx[tid]
        got = {t["id"]: t for t in txs}
        missing = [i for i in want if i not in got]
        extra = [i for i in got if i not in want]
        if missing:
            problems.append(f"{tid}: {len(missing)} acknowledged transactions missing, e.g. {missing[:3]}")
        if extra:
            problems.append(f"{tid}: {len(extra)} transactions nobody was told of, e.g. "
                            f"{[(got[i]['kind'], got[i]['amount'], got[i]['memo']) for i in extra[:3]]}")
        for i, (amount, memo) in want.items():
            t = got.get(i)
            if t and (t["amount"] != amount or t["memo"] != memo):
                problems.append(f"{tid}: transaction {i} is {t['amount']} {t['memo']!r}, acknowledged {amount} {memo!r}")
            if memos[memo] != 1:
                problems.append(f"{tid}: memo {memo!r} appears {memos[memo]} times")
        hgot = {h["id"]: h for h in holds}
        hwant = want_holds[tid]
        if set(hgot) != set(hwant):
            problems.append(f"{tid}: holds in the books {len(hgot)}, acknowledged {len(hwant)}; "
                            f"unknown {list(set(hgot) - set(hwant))[:3]}, missing {list(set(hwant) - set(hgot))[:3]}")
        hpurposes = Counter(h["purpose"] for h in holds)
        for hid, (status, amount, captured, purpose) in hwant.items():
            h = hgot.get(hid)
            if h and (h["status"] != status or h["amount"] != amount or h["captured_amount"] != captured):
                problems.append(f"{tid}: hold {hid} is {h['status']}/{h['amount']}/{h['captured_amount']}, "
                                f"acknowledged {status}/{amount}/{captured}")
            if hpurposes[purpose] != 1:
                problems.append(f"{tid}: hold purpose {purpose!r} appears {hpurposes[purpose]} times")
        posted = sum(a for a, _ in want.values())
        held = sum(a for s, a, _, _ in hwant.values() if s == "pending")
        if bal["available"] != posted - held or bal["held"] != held:
            problems.append(f"{tid}: balance available {bal['available']} held {bal['held']}, "
                            f"expected {posted - held} and {held}")
        moved += len(want) + len(hwant)
    run.expect(not problems, "every acknowledged movement is in the books exactly once, nothing else is, "
               "and balances are granted − spent − captured − held",
               f"{moved} transactions and holds over {len(talents)} talents" +
               ("; " + " | ".join(problems[:6]) if problems else ""))
    check = run.admin(base, "GET", "/api/v1/admin/ledger/check").json or {}
    run.expect(check.get("ok") is True and check.get("book_total") == 0 and not check.get("issues"),
               "the ledger check is clean",
               f"ok={check.get('ok')} transactions={check.get('transactions')} book_total={check.get('book_total')} "
               f"open_holds={check.get('open_holds')} issues={check.get('issues', [])[:3]}")
    out = {"movements_checked": moved, "ledger_transactions": check.get("transactions"),
           "book_total": check.get("book_total"), "ledger_ok": check.get("ok")}
    return out


def load_summary(ops) -> dict:
    a = [x for _, x in attempts_of(ops)]
    d = describe(a)
    d["acknowledged"] = sum(1 for op in ops if op.final is not None and op.final.ok and op.final in op.attempts)
    d["by_kind"] = dict(Counter(op.kind for op in ops))
    return d


def run_cmd(run: Run, what: str, cmd: str, timeout: float = 120) -> float:
    t = time.monotonic()
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t
    run.event(f"{what}: `{cmd}` → rc {out.returncode} in {took:.2f}s")
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed ({out.returncode}): {out.stdout}{out.stderr}")
    return took


class Prober:
    """Polls GET `path` on `base` every `interval` seconds in its own thread."""

    def __init__(self, base: str, path: str, interval: float = 0.2, timeout: float = 15):
        self.base, self.path, self.interval, self.timeout = base, path, interval, timeout
        self.samples: list[Resp] = []
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self.th.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.th.join(self.timeout + 2)

    def _loop(self):
        while not self.stop_ev.is_set():
            self.samples.append(call(self.base, "GET", self.path, timeout=self.timeout))
            time.sleep(self.interval)
        drop_connections()

    def first(self, pred, after: float = 0.0):
        for s in self.samples:
            if s.t0 >= after and pred(s):
                return s
        return None
