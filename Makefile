# sysdig-aws-connect: one CloudFormation stack that connects an AWS account to Sysdig Monitor.
# `make demo` runs the whole product locally; `make test` runs every test. Both install
# what they need (Node 22, the CDK CLI, the Lambda runtime emulator) under .tools/.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.tools
DIST      := $(CURDIR)/dist
export PATH := $(CURDIR)/node_modules/.bin:$(TOOLS)/bin:$(PATH)

# The deployable function: linux/arm64, static, no RPC shim (provided.al2023 uses the
# Runtime API directly), reproducible paths, stripped.
# The release version (internal/version/VERSION, linked as ./VERSION) is embedded in every
# binary; stamping it here as well lets a release override it on the command line
# (make build VERSION=0.2.0-rc.1) without editing the file.
VERSION        := $(shell cat $(CURDIR)/VERSION)
VERSION_LDFLAGS := -X sysdig-aws-connect/internal/version.stamped=$(VERSION)
LAMBDA_LDFLAGS := -s -w -buildid= $(VERSION_LDFLAGS)
LAMBDA_FLAGS   := -tags lambda.norpc -trimpath -ldflags '$(LAMBDA_LDFLAGS)'

.PHONY: help
# Each target's `## [group] text` comment is its line in `make help`; the groups are printed
# in this order, after `demo` and `test` ([start]); an untagged target goes under "other".
HELP_GROUPS := start build deploy develop other
help: ## [develop] list the targets
	@awk -v groups='$(HELP_GROUPS)' -f mk/help.awk $(MAKEFILE_LIST)

.PHONY: build
build: $(DIST)/lambda/bootstrap $(DIST)/function.zip ## [build] the function for Lambda (linux/arm64) and its reproducible zip

$(DIST)/lambda/bootstrap: FORCE
	@mkdir -p $(@D)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $@ ./lambda

$(DIST)/function.zip: $(DIST)/lambda/bootstrap
	$(GO) run ./cmd/lambdazip -in $< -out $@

# The same function for this machine's architecture, for the runtime emulator.
.PHONY: build-local
build-local: ## [build] the function for this machine, for the runtime emulator
	@mkdir -p $(DIST)/local
	@echo "go build ./lambda -> dist/local/bootstrap (for this machine)"
	@CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(DIST)/local/bootstrap ./lambda

.PHONY: vet
vet: ## [develop] go vet and the gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

.PHONY: clean
clean: ## [build] remove build outputs (keeps the installed tools)
	rm -rf $(DIST) cdk.out

FORCE:

include mk/*.mk
