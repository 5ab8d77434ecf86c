# The operator CLI, sysdig-connect (docs/cli.md), for this machine. -buildvcs=auto records the
# source revision (shown by --version) even where GOFLAGS turns it off; Go finds it in a git
# clone (not in a git worktree, whose .git is a file).

.PHONY: cli
cli: ## [build] the sysdig-connect CLI into dist/
	@mkdir -p $(DIST)
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags '$(VERSION_LDFLAGS)' -o $(DIST)/sysdig-connect ./cmd/sysdig-connect
