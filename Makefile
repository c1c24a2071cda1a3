SHELL := /bin/bash

.PHONY: install build test typecheck run cluster cluster-stop bench bench-ws bench-prune clean screenshot

install:
	npm ci

build:
	npm run build

typecheck:
	npm run typecheck

# the one test command (the README and .ci/run use the same): builds, runs tap, prints
# "N passed, N failed, N skipped" last and keeps tap's exit status
test:
	npm test

run: build
	bin/chatserver --port 6000

clean:
	rm -rf dist .tap coverage

# three chatserver processes sharing MariaDB and Redis, behind nginx on 127.0.0.1:8000 (TCP) and
# 127.0.0.1:8080 (the browser client and its WebSocket); fails (naming the port) if one of
# 6000-6002, 7000-7002 (their --ws-port), 8000 or 8080 is taken, or if this cluster already runs.
# Other ports: make cluster PORTS="6100 6101 6102" WS_PORTS="7100 7101 7102" LISTEN=127.0.0.1:9000
# WS_LISTEN=127.0.0.1:9080 (and the same for cluster-stop)
# make cluster REDIS=cluster: on a Redis Cluster of its own (3 masters, 3 replicas on ports
# 6380-6385, or REDIS_CLUSTER_PORTS="six ports"; their cluster bus on port + 10000), which
# cluster-stop stops too
cluster: build
	examples/cluster/cluster.sh start

cluster-stop:
	examples/cluster/cluster.sh stop

# the benchmark (bench/, results in docs/BENCHMARKS.md): starts its own servers (embedded, and a
# cluster on the local MariaDB and Redis) and the baseline relay; a few minutes.
# A part of it: make bench BENCH_ARGS='--scenario 1,2'; against running servers: --target h:p[,h:p]
bench: build
	ulimit -n $$(ulimit -Hn) 2>/dev/null; BENCH_COMMAND='$(strip make bench $(BENCH_ARGS))' node dist/bench/main.js $(BENCH_ARGS)

# the benchmark's smoke version (tiny scenarios 1, 2, 4 and 6; fails on any loss, duplicate or
# disorder; under a minute); npm test and .ci/run include it as test/bench/smoke.test.ts
bench-smoke: build
	npx tap test/bench/smoke.test.ts --disable-coverage

.PHONY: bench-smoke

# hardening, long versions (issue #8; docs/OPERATING.md). The same tap tests npm test runs,
# bigger: 100,000 fuzzed frames (FUZZ_SEED=n replays a run), and a 30-minute soak with
# reconnects that checks memory and descriptors stay flat (SOAK_SECONDS=20 for a quick one).
FUZZ_FRAMES ?= 100000
SOAK_SECONDS ?= 1800

fuzz: build
	FUZZ_FRAMES=$(FUZZ_FRAMES) npx tap test/hardening/fuzz.test.ts --disable-coverage --allow-incomplete-coverage --timeout=3600

soak: build
	ulimit -n $$(ulimit -Hn) 2>/dev/null; SOAK_SECONDS=$(SOAK_SECONDS) npx tap test/hardening/soak.test.ts --disable-coverage --allow-incomplete-coverage --timeout=$$(( $(SOAK_SECONDS) + 600 ))

.PHONY: fuzz soak

# docs/browser-client.png, the README's picture of the browser client: a throwaway server, a short
# conversation, and the page in Debian's chromium (headless)
screenshot: build
	node scripts/screenshot.mjs

# one-to-one over WebSocket against the same over TCP on one server (bench/ws.ts); prints the ratio
bench-ws: build
	node dist/bench/ws.js $(BENCH_ARGS)

# the message path's p99 while retention prunes 1,000,000 seeded events (bench/prune.ts);
# a smaller run: make bench-prune BENCH_ARGS='--events 100000'
bench-prune: build
	node dist/bench/prune.js $(BENCH_ARGS)
