# shellcheck shell=bash
# Sourced by .ci/schemathesis and .ci/ts-client: start the service on a port
# the OS says is free, and wait until it answers or fail saying why.

# A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_healthy BASE PID LOG [SECONDS]: until BASE/healthz answers 2xx.
# Fails, printing the end of LOG, when process PID exits first or when
# SECONDS (default 60) pass.
wait_healthy() {
  local base=$1 pid=$2 log=$3 limit=${4:-60} began=$SECONDS reason
  while :; do
    if curl -fsS --max-time 2 "$base/healthz" >/dev/null 2>&1; then
      echo "== the service answers at $base (after $((SECONDS - began))s)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      reason="the service exited before $base/healthz answered"
      break
    fi
    if [ $((SECONDS - began)) -ge "$limit" ]; then
      reason="the service did not answer at $base/healthz within ${limit}s"
      break
    fi
    sleep 0.2
  done
  echo "$reason; the end of its log ($log):" >&2
  tail -n 30 "$log" >&2
  return 1
}

# start_service FIXED_PORT: "$bin serve" with its log in $work/server.log,
# on FIXED_PORT when given, else on a free port (again on another one, up to
# three times, when a port was taken between asking and listening). Sets
# port, base and server (the process id; the caller's cleanup kills it).
start_service() {
  local fixed=${1:-} _
  for _ in 1 2 3; do
    port=${fixed:-$(free_port)}
    base="http://127.0.0.1:$port"
    # shellcheck disable=SC2154 # bin and work are the caller's
    KARTEL_ADDR="127.0.0.1:$port" "$bin" serve >"$work/server.log" 2>&1 &
    server=$!
    if wait_healthy "$base" "$server" "$work/server.log"; then
      return 0
    fi
    if [ -n "$fixed" ] || kill -0 "$server" 2>/dev/null ||
      ! grep -q "cannot listen on.*in use" "$work/server.log"; then
      return 1
    fi
    echo "== port $port was taken before the service could listen on it; another one"
  done
  return 1
}
