# The operator CLI, sysdig-connect (see the README), for this machine.

.PHONY: cli
cli: ## [build] the sysdig-connect CLI into dist/
	@mkdir -p $(DIST)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(VERSION_LDFLAGS)' -o $(DIST)/sysdig-connect ./cmd/sysdig-connect
