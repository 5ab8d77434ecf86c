# Tests, benchmarks and fuzzing.

# The end-to-end tests run the real bootstrap under the runtime emulator; they find both
# through these variables (the tests build the bootstrap themselves when it is absent).
export SYSDIG_CONNECT_RIE := $(RIE)

.PHONY: test
test: tools vet ## [start] every test (installs what it needs)
	$(GO) test -count=1 -timeout 45m ./...

.PHONY: bench
bench: ## [develop] the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./...

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## [develop] every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
