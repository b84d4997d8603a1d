"""Runs the README's walkthrough as written and compares what it prints.

Usage: python3 .ci/readme_walkthrough.py README.md path/to/kartel

Between `<!-- walkthrough: begin -->` and `<!-- walkthrough: end -->` the
README holds fenced blocks of three kinds, in the order a reader meets them:

  ```sh service   the command that starts the service (there is one, first)
  ```sh           commands, run in order by one bash, so variables carry
                  over from block to block
  ```text         right after a sh block: what it prints (stdout and stderr
                  together); a sh block without one must print nothing
  ```log          after a sh block (or its text): lines the service's log
                  must hold; waited for up to LOG_WAIT seconds, so the next
                  block runs once the service has written them

In text and log blocks `…` stands for any run of characters within a line
(ids, tokens, times); every other character must match, each line whole.

What the runner does in the reader's place, and nothing else:
- The service block must read SERVICE_COMMAND. Instead of building with
  cargo, the runner starts the binary it was given, in a fresh empty folder
  (the reader's clean clone: `data/` and `kartel.log` are made there), with
  none of the environment's DATABASE_URL, REDIS_URL, RUST_LOG or KARTEL_*
  settings, so the defaults the README describes apply (SQLite, no Redis, no
  SMTP), and its log written to `kartel.log` in that folder.
- It serves on a port the OS says is free: every `8080` in the blocks
  (commands, outputs and log lines) is read as that port.
- In the blocks, `cargo run [-q] [--release] [-- ARGS]` runs that binary
  with ARGS; any other cargo command fails.

It fails at the first block that exits non-zero, prints other than shown
or waits in vain for a log line, naming the block by its line in the README
and showing the difference; and when the service's log holds an ERROR or a
panic at the end.
"""

import difflib
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BEGIN = "<!-- walkthrough: begin -->"
END = "<!-- walkthrough: end -->"
SERVICE_COMMAND = "cargo run 2>&1 | tee kartel.log"
LOG_FILE = "kartel.log"
README_PORT = "8080"
BLOCK_SECONDS = 60
LOG_WAIT = 10
START_SECONDS = 60
DONE = "__readme_walkthrough_block_done__"


class Failed(Exception):
    pass


class Block:
    def __init__(self, kind, line, text):
        self.kind = kind  # "service", "sh", "text" or "log"
        self.line = line  # the README line of the opening fence
        self.text = text
        self.output = None  # the text block that follows a sh block
        self.log = None  # the log block that follows it

    def where(self):
        first = next((l for l in self.text.splitlines() if l.strip()), "")
        if len(first) > 70:
            first = first[:67] + "..."
        return f"README.md line {self.line} ({first.strip()})"


def parse(readme):
    lines = readme.splitlines()
    try:
        start = lines.index(BEGIN)
        end = lines.index(END)
    except ValueError:
        raise Failed(f"the README has no `{BEGIN}` … `{END}` pair")
    if end < start or lines.count(BEGIN) != 1 or lines.count(END) != 1:
        raise Failed(f"the README must hold exactly one `{BEGIN}` before one `{END}`")
    blocks = []
    i = start + 1
    while i < end:
        fence = re.match(r"^(```+)\s*(.*)$", lines[i])
        if not fence:
            i += 1
            continue
        info = fence.group(2).split()
        kinds = {("sh", "service"): "service", ("sh",): "sh", ("text",): "text", ("log",): "log"}
        kind = kinds.get(tuple(info))
        if kind is None:
            raise Failed(
                f"README.md line {i + 1}: a block `{fence.group(2)}` in the walkthrough; "
                "only ```sh, ```sh service, ```text and ```log are run or checked there"
            )
        body = []
        j = i + 1
        while j < end and lines[j] != fence.group(1):
            body.append(lines[j])
            j += 1
        if j >= end:
            raise Failed(f"README.md line {i + 1}: the block is not closed before `{END}`")
        blocks.append(Block(kind, i + 1, "\n".join(body)))
        i = j + 1
    # Attach each text and log block to the sh block before it.
    runs = []
    for b in blocks:
        if b.kind in ("service", "sh"):
            runs.append(b)
        elif not runs:
            raise Failed(f"README.md line {b.line}: a ```{b.kind} block before any ```sh block")
        elif b.kind == "text":
            if runs[-1].kind == "service":
                raise Failed(f"README.md line {b.line}: the service prints to its log: use ```log")
            if runs[-1].output is not None or runs[-1].log is not None:
                raise Failed(f"README.md line {b.line}: a second ```text block for one ```sh block")
            runs[-1].output = b
        else:
            if runs[-1].log is not None:
                raise Failed(f"README.md line {b.line}: a second ```log block for one ```sh block")
            runs[-1].log = b
    services = [b for b in runs if b.kind == "service"]
    if len(services) != 1 or runs[0].kind != "service":
        raise Failed("the walkthrough must start with one ```sh service block, and have no other")
    command = re.sub(r"\s+#.*$", "", services[0].text.strip())
    if command != SERVICE_COMMAND:
        raise Failed(
            f"{services[0].where()}: the service block reads `{command}`; the runner starts the "
            f"service itself in place of `{SERVICE_COMMAND}` only (change .ci/readme_walkthrough.py too)"
        )
    return runs


def pattern(line):
    return re.compile("".join(".*?" if c == "…" else re.escape(c) for c in line))


def lines_of(text):
    out = [l.rstrip() for l in text.replace("\r\n", "\n").split("\n")]
    while out and out[-1] == "":
        out.pop()
    return out


def matches(expected, actual):
    return len(expected) == len(actual) and all(
        pattern(e).fullmatch(a) for e, a in zip(expected, actual)
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_environment():
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("KARTEL_") or k in ("DATABASE_URL", "REDIS_URL", "RUST_LOG"))
    }
    env.pop("BASH_ENV", None)
    env.pop("ENV", None)
    return env


class Walkthrough:
    def __init__(self, binary, port):
        self.binary = os.path.abspath(binary)
        self.port = port
        self.home = tempfile.mkdtemp(prefix="kartel-readme-")
        self.folder = os.path.join(self.home, "clone")  # where the reader stands
        self.scratch = os.path.join(self.home, "blocks")  # the runner's own files
        os.makedirs(self.folder)
        os.makedirs(self.scratch)
        self.log_path = os.path.join(self.folder, LOG_FILE)
        self.env = clean_environment()
        self.service = None
        self.shell = None
        self.lines = queue.Queue()

    def here(self, text):
        return re.sub(rf"\b{README_PORT}\b", str(self.port), text)

    def start_service(self, block):
        # Another port when the one the OS gave was taken before the service
        # could listen on it.
        for attempt in range(3):
            if attempt:
                self.port = free_port()
            if self.try_service(block):
                return
        raise Failed(f"{block.where()}: three ports were taken before the service could listen")

    def try_service(self, block):
        try:
            with open(self.log_path, "wb") as log:
                self.service = subprocess.Popen(
                    [self.binary],
                    cwd=self.folder,
                    env={**self.env, "KARTEL_ADDR": f"127.0.0.1:{self.port}"},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as e:
            raise Failed(f"cannot start {self.binary}: {e}")
        began = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return True
            except OSError:
                pass
            if self.service.poll() is not None:
                with open(self.log_path, encoding="utf-8", errors="replace") as f:
                    if re.search(r"cannot listen on.*in use", f.read()):
                        return False
                raise Failed(f"{block.where()}: the service exited ({self.service.returncode})" + self.log_tail())
            if time.monotonic() - began > START_SECONDS:
                raise Failed(f"{block.where()}: the service did not answer within {START_SECONDS}s" + self.log_tail())
            time.sleep(0.1)

    def start_shell(self):
        self.shell = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=self.folder,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

        def read():
            for line in self.shell.stdout:
                self.lines.put(line)
            self.lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        binary = shlex.quote(self.binary)
        self.send(
            f"""cargo() {{
  if [ "${{1:-}}" != run ]; then
    echo "readme walkthrough: only \\`cargo run\\` is known here, not \\`cargo $*\\`" >&2
    return 127
  fi
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      -q | --quiet | --release) shift ;;
      --) shift; break ;;
      *) echo "readme walkthrough: \\`cargo run $1\\` is not known here" >&2; return 127 ;;
    esac
  done
  {binary} "$@"
}}
"""
        )

    def send(self, text):
        self.shell.stdin.write(text)
        self.shell.stdin.flush()

    def run(self, n, block):
        script = os.path.join(self.scratch, f"block-{n}.sh")
        output = os.path.join(self.scratch, f"block-{n}.out")
        with open(script, "w") as f:
            f.write(self.here(block.text) + "\n")
        self.send(
            f"source {shlex.quote(script)} >{shlex.quote(output)} 2>&1 </dev/null; "
            f"echo \"{DONE} $?\"\n"
        )
        deadline = time.monotonic() + BLOCK_SECONDS
        status = None
        while status is None:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Failed(f"{block.where()}: still running after {BLOCK_SECONDS}s")
            if line is None:
                raise Failed(f"{block.where()}: the shell ended (an `exit` in the block?)")
            if line.startswith(DONE):
                status = int(line.split()[1])
        with open(output, encoding="utf-8", errors="replace") as f:
            printed = f.read()
        if status != 0:
            raise Failed(f"{block.where()}: exited with status {status}; it printed:\n{printed}")
        actual = lines_of(printed)
        if block.output is None:
            if actual:
                raise Failed(
                    f"{block.where()}: printed what the README does not show (add a ```text block):\n"
                    + "\n".join(actual)
                )
            return
        expected = lines_of(self.here(block.output.text))
        if not matches(expected, actual):
            diff = difflib.unified_diff(
                expected,
                actual,
                f"README.md line {block.output.line} (as shown; … is any text)",
                "as printed",
                lineterm="",
            )
            raise Failed(f"{block.where()}: printed other than the README shows:\n" + "\n".join(diff))

    def expect_log(self, block):
        wanted = [(l, pattern(l)) for l in lines_of(self.here(block.log.text)) if l.strip()]
        deadline = time.monotonic() + LOG_WAIT
        while True:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                log = lines_of(f.read())
            missing = [l for l, p in wanted if not any(p.fullmatch(x) for x in log)]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise Failed(
                    f"README.md line {block.log.line}: after {block.where()}, the service's log "
                    f"holds no line like:\n" + "\n".join(missing) + self.log_tail()
                )
            time.sleep(0.1)

    def log_tail(self, n=20):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                tail = f.read().splitlines()[-n:]
        except OSError:
            return ""
        return f"\nthe end of the service's log ({self.log_path}):\n" + "\n".join(tail)

    def check_log_clean(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            bad = [l for l in f.read().splitlines() if " ERROR " in l or "panicked" in l]
        if bad:
            raise Failed("the service logged errors during the walkthrough:\n" + "\n".join(bad))
        if self.service.poll() is not None:
            raise Failed(f"the service exited ({self.service.returncode}) during the walkthrough" + self.log_tail())

    def stop(self, keep):
        for process in (self.shell, self.service):
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        if keep:
            print(f"readme walkthrough: kept {self.home}", file=sys.stderr)
        else:
            shutil.rmtree(self.home, ignore_errors=True)


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    readme_path, binary = sys.argv[1], sys.argv[2]
    # Stopped from outside (a stage's time limit, which signals only its own
    # process group): still stop the service and the shell.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    try:
        with open(readme_path, encoding="utf-8") as f:
            runs = parse(f.read())
    except Failed as e:
        print(f"readme walkthrough: {e}", file=sys.stderr)
        return 1
    walk = Walkthrough(binary, free_port())
    ok = False
    try:
        walk.start_service(runs[0])
        print(f"== the service answers on port {walk.port} (README's {README_PORT}), in {walk.folder}")
        if runs[0].log is not None:
            walk.expect_log(runs[0])
        walk.start_shell()
        for n, block in enumerate(runs[1:], start=1):
            walk.run(n, block)
            if block.log is not None:
                walk.expect_log(block)
            print(f"ok  {block.where()}")
        walk.check_log_clean()
        ok = True
    except Failed as e:
        print(f"readme walkthrough FAILED: {e}", file=sys.stderr)
    finally:
        walk.stop(keep=not ok and os.environ.get("README_WALKTHROUGH_KEEP") == "1")
    if not ok:
        return 1
    print(
        f"readme walkthrough: {len(runs) - 1} blocks of {readme_path} ran as written and printed "
        f"what it shows ({time.monotonic() - began:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
