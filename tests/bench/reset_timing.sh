#!/usr/bin/env bash
# Password-reset answers take as long for a known address as for an unknown
# one (the lookup and the mail happen after the answer): starts `kartel` on a
# fresh SQLite file, registers one person, then sends N reset requests
# alternating between that address and unknown ones, and prints the
# distribution of answer times per group (docs/benchmarks.md records
# it). A timing comparison is noise-bound, so it lives here and not
# in the tests, which check the identical answers and who gets mail.
#
#   bash tests/bench/reset_timing.sh                  # release build first
#   KARTEL_BIN=target/debug/kartel N=400 bash tests/bench/reset_timing.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${KARTEL_BIN:-target/release/kartel}
if [ -z "${KARTEL_BIN:-}" ]; then
  cargo build --locked --release -q -p kartel-api --bin kartel
fi
n=${N:-200}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
DATABASE_URL="sqlite://$dir/kartel.db" KARTEL_ADDR="127.0.0.1:$port" \
  KARTEL_SIGNING_KEY_FILE="$dir/key.pem" KARTEL_AUTH_RATE_LIMIT_PER_IP=1000000 \
  KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT=1000000 RUST_LOG=warn \
  "$bin" serve >"$dir/log" 2>&1 &
pid=$!
up=""
for _ in $(seq 300); do
  if curl -fs "127.0.0.1:$port/healthz" >/dev/null; then up=1; break; fi
  sleep 0.1
done
[ -n "$up" ] || { echo "the server did not come up:" >&2; tail -20 "$dir/log" >&2; exit 1; }
url="127.0.0.1:$port/api/v1/auth"
curl -fs -o /dev/null -X POST "$url/register" -H 'content-type: application/json' \
  -d '{"email":"known@example.com","password":"correct horse battery","handle":"known","display_name":"Known"}'
for i in $(seq "$n"); do
  if [ $((i % 2)) -eq 0 ]; then who=known; email=known@example.com; else who=unknown; email="nobody$i@example.com"; fi
  t=$(curl -fs -o /dev/null -w '%{time_total}' -X POST "$url/password-reset" \
    -H 'content-type: application/json' -d "{\"email\":\"$email\"}")
  echo "$who $t"
done >"$dir/times"
python3 - "$dir/times" <<'PY'
import statistics, sys
groups = {}
for line in open(sys.argv[1]):
    who, t = line.split()
    groups.setdefault(who, []).append(float(t) * 1000)
for who in ("known", "unknown"):
    ts = sorted(groups[who])
    q = lambda p: ts[min(len(ts) - 1, int(p * len(ts)))]
    print(f"{who:8} n={len(ts):4}  p50 {q(0.5):6.2f} ms  p90 {q(0.9):6.2f} ms  p99 {q(0.99):6.2f} ms  mean {statistics.mean(ts):6.2f} ms")
PY
