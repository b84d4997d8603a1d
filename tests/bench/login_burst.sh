#!/usr/bin/env bash
# Memory under a sign-in burst: starts a release `kartel` on a fresh SQLite
# file, registers 10 people and signs each in, then fires 100 concurrent
# sign-ins, and prints the process's resident memory idle, after the first
# round and after the burst (docs/benchmarks.md records it).
#
#   bash tests/bench/login_burst.sh            # builds the release binary first
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p kartel-api --bin kartel
dir=$(mktemp -d)
port=${PORT:-18080}
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
DATABASE_URL="sqlite://$dir/kartel.db" KARTEL_ADDR="127.0.0.1:$port" \
  KARTEL_SIGNING_KEY_FILE="$dir/key.pem" KARTEL_AUTH_RATE_LIMIT_PER_IP=100000 \
  KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT=100000 RUST_LOG=warn \
  ./target/release/kartel serve >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "localhost:$port/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$pid/status"; }
echo "idle: $(rss)"
url="localhost:$port/api/v1/auth"
for i in $(seq 10); do
  curl -fs -o /dev/null -X POST "$url/register" -H 'content-type: application/json' \
    -d "{\"email\":\"p$i@example.com\",\"password\":\"correct horse battery\",\"handle\":\"person$i\",\"display_name\":\"P $i\"}"
  curl -fs -o /dev/null -X POST "$url/login" -H 'content-type: application/json' \
    -d "{\"email\":\"p$i@example.com\",\"password\":\"correct horse battery\"}"
done
echo "after 10 registrations and sign-ins: $(rss)"
start=$(date +%s.%N)
for n in $(seq 100); do
  i=$(( n % 10 + 1 ))
  curl -s -o /dev/null -w '%{http_code}\n' -X POST "$url/login" -H 'content-type: application/json' \
    -d "{\"email\":\"p$i@example.com\",\"password\":\"correct horse battery\"}" &
done > "$dir/codes"
wait_for_logins() { while [ "$(wc -l < "$dir/codes")" -lt 100 ]; do sleep 0.1; done; }
wait_for_logins
end=$(date +%s.%N)
echo "after 100 concurrent sign-ins ($(grep -c '^200' "$dir/codes") answered 200): $(rss) ($(echo "$end - $start" | bc) s)"
sleep 2
echo "2 s later: $(rss)"
