# The CDK app (cdk/), the committed templates (templates/) and publishing.
#
#   make synth                      cdk synth into cdk.out (asset mode, dist/lambda; both stacks)
#   make deploy CDK_ARGS='SysdigAwsConnect --parameters ApiTokenSecret=sysdig/api-token'
#   make templates                  regenerate templates/*.json (single account, Organizations
#                                   deployer, StackSet member) from the CDK code
#   make check-templates            fail when the committed template drifts from the CDK code
#   make package                    build the reproducible dist/function.zip and print its sha256
#   make publish BUCKET_PREFIX=... REGIONS='us-east-1 eu-west-1' CODE_KEY=...
#                                   upload zip + template to <BUCKET_PREFIX>-<region>, print Launch Stack URLs
#   make publish-org ...            the same for the Organizations deployer and its member
#                                   template (MEMBER_TEMPLATE_KEY; see docs/organizations.md)

# The root Makefile puts the pinned Node 22 and CDK CLI (make tools) first on PATH: the
# jsii runtime inside every CDK Go program starts `node` by name when the program starts.
# Nothing in synth or the template generation may touch the network.
export CDK_DISABLE_VERSION_CHECK := true
export CDK_DISABLE_CLI_TELEMETRY := true

CDK             := $(CURDIR)/node_modules/.bin/cdk
CDK_ARGS        ?=
TEMPLATE        := templates/sysdig-aws-connect.json
ORG_TEMPLATE    := templates/sysdig-aws-connect-org.json
ORG_TEMPLATE_KEY ?= sysdig-aws-connect/sysdig-aws-connect-org.json
ORG_STACK_NAME  ?= sysdig-aws-connect-org
# The deployer's StackSet reads the member template from the code bucket (MemberTemplateKey).
MEMBER_TEMPLATE := templates/sysdig-aws-connect-member.json
MEMBER_TEMPLATE_KEY ?=
# ... and its alarms and dashboard, a nested stack (OperationsTemplateKey).
OPERATIONS_TEMPLATE := templates/sysdig-aws-connect-operations.json
OPERATIONS_TEMPLATE_KEY ?=
# publish settings; empty means cmd/publish's default (cdk/launch: region us-east-1, keys
# sysdig-aws-connect/function.zip and sysdig-aws-connect/sysdig-aws-connect.json, stack
# name sysdig-aws-connect). BUCKET_PREFIX has no default: name buckets you own.
# CODE_SIGNING_CONFIG: Lambda code signing configuration ARNs, one per region (optional).
BUCKET_PREFIX   ?=
CODE_SIGNING_CONFIG ?=
REGIONS         ?=
CODE_KEY        ?=
TEMPLATE_KEY    ?=
STACK_NAME      ?=
# For a local S3 (tests, MinIO): S3_ENDPOINT=http://127.0.0.1:9000 S3_PATH_STYLE=true
S3_ENDPOINT     ?=
S3_PATH_STYLE   ?= false
publish_flag = $(if $(strip $(2)),$(1) '$(strip $(2))')

# The asset `cdk synth`/`cdk deploy` package (cdk.json runs this before the app).
.PHONY: cdk-asset
cdk-asset: $(DIST)/lambda/bootstrap

.PHONY: synth
synth: tools ## [deploy] cdk synth into cdk.out (builds the function first)
	@echo "cdk synth$(if $(strip $(CDK_ARGS)), $(CDK_ARGS)) -> cdk.out"
	@$(CDK) synth --quiet $(CDK_ARGS)

.PHONY: deploy
deploy: tools ## [deploy] cdk deploy from this machine (stack and parameters in CDK_ARGS)
	$(CDK) deploy $(CDK_ARGS)

.PHONY: templates
templates: tools ## [build] regenerate the committed templates (templates/) from the CDK code
	$(GO) run -ldflags '$(VERSION_LDFLAGS)' ./cdk -templates-dir templates

.PHONY: check-templates
check-templates: tools ## [develop] fail when templates/ differs from the CDK code
	$(GO) test -count=1 -run 'TestPublishedTemplate' ./cdk/stacks

.PHONY: package
package: build ## [build] the reproducible function zip and its SHA-256
	@$(GO) run ./cmd/publish -sha256 $(DIST)/function.zip

.PHONY: publish
publish: package check-templates ## [deploy] upload code and template to <BUCKET_PREFIX>-<region>, print Launch Stack links
	$(GO) run ./cmd/publish -zip $(DIST)/function.zip -template $(TEMPLATE) \
	  $(call publish_flag,-bucket-prefix,$(BUCKET_PREFIX)) $(call publish_flag,-regions,$(REGIONS)) \
	  $(call publish_flag,-code-key,$(CODE_KEY)) $(call publish_flag,-template-key,$(TEMPLATE_KEY)) \
	  $(call publish_flag,-stack-name,$(STACK_NAME)) $(call publish_flag,-endpoint,$(S3_ENDPOINT)) \
	  $(call publish_flag,-code-signing-config,$(CODE_SIGNING_CONFIG)) -path-style=$(S3_PATH_STYLE)

.PHONY: publish-org
publish-org: package check-templates ## [deploy] the same for the Organizations template and its member and operations templates
	$(GO) run ./cmd/publish -zip $(DIST)/function.zip -template $(ORG_TEMPLATE) \
	  -template-key '$(ORG_TEMPLATE_KEY)' -stack-name '$(ORG_STACK_NAME)' \
	  -member-template $(MEMBER_TEMPLATE) $(call publish_flag,-member-template-key,$(MEMBER_TEMPLATE_KEY)) \
	  -operations-template $(OPERATIONS_TEMPLATE) $(call publish_flag,-operations-template-key,$(OPERATIONS_TEMPLATE_KEY)) \
	  $(call publish_flag,-bucket-prefix,$(BUCKET_PREFIX)) $(call publish_flag,-regions,$(REGIONS)) \
	  $(call publish_flag,-code-key,$(CODE_KEY)) $(call publish_flag,-endpoint,$(S3_ENDPOINT)) \
	  $(call publish_flag,-code-signing-config,$(CODE_SIGNING_CONFIG)) -path-style=$(S3_PATH_STYLE)
