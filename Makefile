SHELL := /bin/bash

.PHONY: install build test typecheck run cluster cluster-stop bench clean

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

# three chatserver processes sharing MariaDB and Redis, behind nginx on 127.0.0.1:8000
cluster: build
	examples/cluster/cluster.sh start

cluster-stop:
	examples/cluster/cluster.sh stop
