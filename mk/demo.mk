# The whole product, locally: the synthesized stack's custom resources played the way
# CloudFormation would, against the real bootstrap under AWS's runtime emulator.

.PHONY: demo
demo: tools synth build-local ## run the whole thing locally: create, update in place, replace, delete
	$(GO) run ./cmd/demo -template cdk.out/SysdigAwsConnect.template.json -bootstrap $(DIST)/local/bootstrap

# On-prem: the committed single-account template with OnPremCredentials=CreateUser, then
# sysdig-connect check, onprem rotate-key (both steps) and the Kubernetes manifest.
.PHONY: demo-onprem
demo-onprem: tools build-local ## run the on-prem set-up locally; ends with the Kubernetes manifest (secret key masked)
	$(GO) run ./cmd/demo-onprem -template templates/sysdig-aws-connect.json -bootstrap $(DIST)/local/bootstrap
