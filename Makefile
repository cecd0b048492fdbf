# evac: make build | test | demo | bench | check | clean   (see docs/TESTING.md)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := build

MODULE  := github.com/evac-dev/evac
# VERSION is the release tag (v1.2.3, or v1.2.3-4-gabc-dirty between tags), "dev" without tags.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null || c=$$c-dirty; echo $$c; } || echo unknown)
LDFLAGS := -X $(MODULE)/internal/version.Version=$(VERSION) -X $(MODULE)/internal/version.Commit=$(COMMIT)
# Packages that start goroutines: tested with the race detector.
RACE_RE := ^$(MODULE)/(sync|replicator|verify|internal)(/|$$)
TEST_TIMEOUT ?= 9m
# PKGS narrows `make test` (e.g. make test PKGS=./sync/...); default everything.
PKGS ?= ./...
GO_TEST_FLAGS ?=

.PHONY: build test demo bench check clean testenv-up testenv-down

# phase NAME CMD...: run CMD, print its duration, remember it for the summary.
define PHASES
T_START=$$(date +%s); SUMMARY=""; FAILED=""
phase() { local name=$$1 rc=0 t; shift; t=$$(date +%s); echo "==> $$name"; "$$@" || rc=$$?; local d=$$(( $$(date +%s) - t )) st=ok; (( rc == 0 )) || { st=FAILED; FAILED+="$$name; "; }; echo "<== $$name: $${d}s $$st"; SUMMARY+="  $$(printf '%-28s %4ss  %s' "$$name" "$$d" "$$st")"$$'\n'; return $$rc; }
summary() { echo "== time per phase"; printf '%s' "$$SUMMARY"; echo "  total                        $$(( $$(date +%s) - T_START ))s"; [[ -z $$FAILED ]] || echo "FAILED: $$FAILED"; }
endef

build:
	@go build -trimpath -ldflags "$(LDFLAGS)" -o bin/evac ./cmd/evac
	echo "built bin/evac $(VERSION) ($(COMMIT))"

test:
	@$(PHASES)
	started=0
	if ! scripts/testenv status >/dev/null 2>&1; then started=1; fi
	cleanup() { rc=$$?; if (( started )); then scripts/testenv down || true; fi; summary; exit $$rc; }
	trap cleanup EXIT
	phase "testenv up" scripts/testenv up
	set -a; . "$${EVAC_TESTENV_DIR:-.testenv}/env"; set +a
	export EVAC_INTEGRATION=1
	fmt_check() { out=$$(gofmt -l $$(go list -f '{{.Dir}}' $(PKGS))); if [[ -n $$out ]]; then echo "gofmt needed on:"; echo "$$out"; echo "fix: gofmt -w <files>"; return 1; fi; }
	# After the servers are up every phase runs, so one run shows every problem; the exit code says if any failed.
	phase "gofmt" fmt_check || true
	phase "go vet" go vet $(PKGS) || true
	race_pkgs=$$(go list -e $(PKGS) | grep -E '$(RACE_RE)' || true)
	other_pkgs=$$(go list -e $(PKGS) | grep -vE '$(RACE_RE)' || true)
	if [[ -n $$race_pkgs ]] && ! command -v "$$(go env CC)" >/dev/null; then echo "go test -race needs a C compiler (cgo); fix: apt-get install -y gcc libc6-dev"; exit 1; fi
	if [[ -n $$race_pkgs ]]; then phase "go test -race (concurrent)" go test -race -count=1 -timeout $(TEST_TIMEOUT) $(GO_TEST_FLAGS) $$race_pkgs || true; fi
	if [[ -n $$other_pkgs ]]; then phase "go test (rest)" go test -count=1 -timeout $(TEST_TIMEOUT) $(GO_TEST_FLAGS) $$other_pkgs || true; fi
	[[ -z $$FAILED ]]

testenv-up:
	@scripts/testenv up

testenv-down:
	@scripts/testenv down

demo: build
	@scripts/testenv up
	set -a; . "$${EVAC_TESTENV_DIR:-.testenv}/env"; set +a
	bin/evac demo
	echo
	echo "The demo servers are still running, so you can try evac on them: eval \"\$$(scripts/testenv env)\""
	echo "Stop them with: scripts/testenv down"

bench: build
	@if [[ -x bench/run.sh ]]; then bench/run.sh; else echo "no bench/run.sh yet"; fi

check:
	@out=$$(gofmt -l $$(go list -f '{{.Dir}}' ./...))
	if [[ -n $$out ]]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go vet ./...
	# go mod tidy -diff changes nothing; it prints what tidy would change and fails if anything would.
	go mod tidy -diff || { echo "go.mod/go.sum are not tidy; fix: go mod tidy"; exit 1; }
	git diff --exit-code go.mod go.sum
	echo "check OK"

clean:
	@rm -rf bin bench/out
	go clean -testcache
	echo "removed bin/ and bench/out/; the test servers keep running (scripts/testenv down stops them)"
