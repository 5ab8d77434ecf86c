# The whole product, locally: the synthesized stack's custom resources played the way
# CloudFormation would, against the real bootstrap under AWS's runtime emulator.

.PHONY: demo
demo: tools synth build-local ## run the whole thing locally: create, update in place, replace, delete
	$(GO) run ./cmd/demo -template cdk.out/SysdigAwsConnect.template.json -bootstrap $(DIST)/local/bootstrap
