# berth — see README.md. `make demo` and `make test` are the two commands a
# new user needs; both work on a fresh Debian machine as root.
GO      ?= go
BIN     := bin/berth
PKGS    := ./...

.PHONY: build test unit bench demo cluster-demo lint-examples clean fuzz

build:
	$(GO) build -o $(BIN) ./cmd/berth

# All tests, integration ones included (they need root and the runtime,
# which scripts/testenv.sh installs and starts).
# scripts/leaks.sh fails the run if it left a netns, container, mount,
# link, route or iptables chain behind.
LEAKS ?= /tmp/berth-test-leaks.snapshot
test:
	@eval "$$(scripts/testenv.sh)" && scripts/leaks.sh snapshot $(LEAKS) && $(GO) vet $(PKGS) && \
		$(GO) test -count=1 -timeout 25m $(PKGS) && scripts/leaks.sh check $(LEAKS)
	@$(MAKE) --no-print-directory fuzz

# The fuzz targets of hostile input (the loader under its budgets, the
# fetched-pack scanner), each for FUZZTIME; their seeds also run in `test`.
FUZZTIME ?= 10s
FUZZ := ./compiler/load:FuzzLoadYAML ./compiler/load:FuzzLoadBudgets ./compiler/load:FuzzFastYAML ./reconciler/source:FuzzScanPack
fuzz:
	@set -e; for t in $(FUZZ); do \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# The pure core only, no runtime needed.
unit:
	$(GO) test -short -count=1 $(PKGS)

bench: build
	bench/run.sh

lint-examples: build
	$(BIN) lint examples --exclude examples/broken

demo: build
	scripts/demo.sh $(if $(V),-v)

# Three nodes on one machine (network namespaces), one repository.
cluster-demo: build
	@eval "$$(scripts/testenv.sh)" && scripts/cluster.sh demo

clean:
	rm -rf bin
