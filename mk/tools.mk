# Tools the project installs for itself, pinned, under node_modules/ and .tools/.

RIE_MODULE  := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE         := $(TOOLS)/bin/aws-lambda-rie
NODE_STAMP  := node_modules/.installed

.PHONY: tools
tools: $(NODE_STAMP) $(RIE) ## [develop] install Node 22, the CDK CLI and the Lambda runtime emulator (pinned)

# Node 22 and the CDK CLI come from the npm registry, pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@node_modules/.bin/node --version | grep -q '^v22\.' || { echo "node_modules/.bin/node is not Node 22"; exit 1; }
	@# The CDK CLI ships Go init templates; a go.mod keeps them out of ./... patterns.
	@printf 'module node_modules\n' > node_modules/go.mod
	@touch $@

# AWS's Lambda Runtime Interface Emulator runs the real bootstrap locally.
$(RIE):
	GOBIN=$(TOOLS)/bin $(GO) install $(RIE_MODULE)@$(RIE_VERSION)
