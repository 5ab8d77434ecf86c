# The whole product, locally: the synthesized stack's custom resources played the way
# CloudFormation would, against the real bootstrap under AWS's runtime emulator.

.PHONY: demo
demo: tools synth build-local ## [start] a stack's whole life on this machine, no accounts needed
	@$(GO) run ./cmd/demo -template cdk.out/SysdigAwsConnect.template.json -bootstrap $(DIST)/local/bootstrap

# The local Sysdig emulator and AWS stand-ins, for trying sysdig-connect by hand. Built
# first and then run, so that Ctrl-C reaches the program itself.
.PHONY: playground
playground: ## [develop] local Sysdig and AWS stand-ins until Ctrl-C, to try the CLI
	@mkdir -p $(DIST)
	@$(GO) build -o $(DIST)/playground ./cmd/playground
	@$(DIST)/playground

# On-prem: the committed single-account template with OnPremCredentials=CreateUser, then
# sysdig-connect check, onprem rotate-key (both steps) and the Kubernetes manifest.
.PHONY: demo-onprem
demo-onprem: tools build-local ## [develop] the on-prem set-up locally, ending with the Kubernetes manifest
	@$(GO) run ./cmd/demo -onprem -template templates/sysdig-aws-connect.json -bootstrap $(DIST)/local/bootstrap

# An organization of 20 accounts with every verdict: org status (table and
# out/org-status.json and .html), org reconcile (dry run, then --apply) and the status again.
.PHONY: demo-org
demo-org: tools ## [develop] an organization's org status and reconcile locally, every verdict
	@$(GO) run ./cmd/demo -org
