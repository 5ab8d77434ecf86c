# Tests, benchmarks and fuzzing.

# The end-to-end tests run the real bootstrap under the runtime emulator; they find both
# through these variables (the tests build the bootstrap themselves when it is absent).
export SYSDIG_CONNECT_RIE := $(RIE)

.PHONY: test
test: tools vet ## [start] every test (installs what it needs)
	$(GO) test -count=1 -timeout 45m ./...

# The Organization rollout benchmark: N accounts through K function instances against a
# Sysdig limited to R requests per minute (see docs/scale.md). One run is one rollout.
ROLLOUT_ACCOUNTS        ?= 1000
ROLLOUT_INSTANCES       ?= 5
ROLLOUT_RATE_PER_MINUTE ?= 3000

# `org status` of an organization of N accounts against the stand-ins, Sysdig limited to
# R requests per minute (docs/organizations.md, "What a check costs").
ORG_ACCOUNTS        ?= 10000
ORG_RATE_PER_MINUTE ?= 4096

.PHONY: bench
bench: tools ## [develop] the benchmarks, a rollout (ROLLOUT_ACCOUNTS) and an org status (ORG_ACCOUNTS)
	$(GO) test -run '^$$' -bench . -skip '^(BenchmarkRollout|BenchmarkOrgStatus)$$' -benchmem -count 5 ./...
	ORG_ACCOUNTS=$(ORG_ACCOUNTS) ORG_RATE_PER_MINUTE=$(ORG_RATE_PER_MINUTE) \
	  $(GO) test -run '^$$' -bench '^BenchmarkOrgStatus$$' -benchtime 1x -count 1 -timeout 30m ./internal/orgsim/
	ROLLOUT_ACCOUNTS=$(ROLLOUT_ACCOUNTS) ROLLOUT_INSTANCES=$(ROLLOUT_INSTANCES) ROLLOUT_RATE_PER_MINUTE=$(ROLLOUT_RATE_PER_MINUTE) \
	  $(GO) test -run '^$$' -bench '^BenchmarkRollout$$' -benchtime 1x -count 1 -timeout 60m ./e2e/

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## [develop] every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
