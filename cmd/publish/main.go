// Command publish uploads the function zip and the one-click template to the regional
// buckets the template reads its code from (<bucket-prefix>-<region>) and prints the
// CloudFormation console quick-create ("Launch Stack") URL for each region.
//
//	publish -zip dist/function.zip -template templates/sysdig-aws-connect.json \
//	  -bucket-prefix acme-sysdig -regions 'us-east-1 eu-west-1'
//
// The bucket prefix is required: the buckets' owner decides what code reads the Sysdig
// token, so the Launch Stack URLs name them and the template has no default. With
// -code-signing-config (one Lambda code signing configuration ARN per region, comma
// separated) the URLs also fill in CodeSigningConfigArn for the region of each ARN, so
// Lambda runs only a zip signed by its profiles (sign the zip with AWS Signer and pass
// the signed object's key as -code-key).
//
// With -member-template and -operations-template (the Organizations deployer: make
// publish-org) it also uploads the StackSet's member template and the nested alarms and
// dashboard template to -member-template-key and -operations-template-key in the same
// buckets, where the deployer reads them (its MemberTemplateKey and OperationsTemplateKey
// parameters, pre-filled in the URLs).
//
// With -sha256 FILE it only prints the file's SHA-256 (make package).
//
// Credentials and settings come from the usual AWS SDK sources. For a local S3
// (tests, MinIO) pass -endpoint http://127.0.0.1:PORT -path-style, or set
// AWS_ENDPOINT_URL_S3. The zip is uploaded with its SHA-256 as x-amz-checksum-sha256,
// so S3 rejects a corrupted upload.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sysdig-aws-connect/cdk/launch"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		slog.Error("publish failed", "err", err)
		os.Exit(1)
	}
}

type options struct {
	zip, template, prefix, codeKey, templateKey, stackName, endpoint string
	nested                                                           []nestedTemplate
	regions                                                          []string
	pathStyle                                                        bool
	signing                                                          map[string]string // region -> code signing config ARN
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	var o options
	var regions, shaOnly, signing string
	fs.StringVar(&shaOnly, "sha256", "", "print the SHA-256 of this file and exit")
	fs.StringVar(&o.zip, "zip", "dist/function.zip", "the function zip (make package)")
	fs.StringVar(&o.template, "template", "templates/sysdig-aws-connect.json", "the one-click template")
	fs.StringVar(&o.prefix, "bucket-prefix", "", "required: bucket name prefix of buckets you own; the bucket of a region is <prefix>-<region>")
	fs.StringVar(&signing, "code-signing-config", "", "Lambda code signing configuration ARNs (one per region, comma-separated) to pre-fill as CodeSigningConfigArn")
	fs.StringVar(&regions, "regions", "us-east-1", "regions to publish to, separated by spaces or commas")
	fs.StringVar(&o.codeKey, "code-key", launch.DefaultCodeKey, "object key of the zip (the template's CodeKey)")
	fs.StringVar(&o.templateKey, "template-key", launch.DefaultTemplateKey, "object key of the template")
	member := nestedTemplate{param: launch.ParamMemberTemplateKey, what: "the StackSet's member template"}
	ops := nestedTemplate{param: launch.ParamOperationsTemplateKey, what: "the deployer's alarms and dashboard"}
	fs.StringVar(&member.file, "member-template", "", "the deployer's member template (make publish-org); empty: none")
	fs.StringVar(&member.key, "member-template-key", launch.DefaultMemberTemplateKey, "object key of the member template (the deployer's MemberTemplateKey)")
	fs.StringVar(&ops.file, "operations-template", "", "the deployer's alarms and dashboard template (make publish-org); empty: none")
	fs.StringVar(&ops.key, "operations-template-key", launch.DefaultOperationsTemplateKey, "object key of that template (the deployer's OperationsTemplateKey)")
	fs.StringVar(&o.stackName, "stack-name", launch.DefaultStackName, "stack name pre-filled in the Launch Stack URL")
	fs.StringVar(&o.endpoint, "endpoint", "", "S3 endpoint URL (local S3); empty: the SDK's default or AWS_ENDPOINT_URL_S3")
	fs.BoolVar(&o.pathStyle, "path-style", false, "path-style S3 addressing (local S3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, n := range []nestedTemplate{member, ops} {
		if n.file != "" {
			o.nested = append(o.nested, n)
		}
	}
	if shaOnly != "" {
		b, err := os.ReadFile(shaOnly)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		_, err = fmt.Fprintf(stdout, "%s  %s\n", hex.EncodeToString(sum[:]), shaOnly)
		return err
	}
	o.regions = strings.FieldsFunc(regions, func(r rune) bool { return r == ',' || r == ' ' })
	if len(o.regions) == 0 {
		return errors.New("no regions")
	}
	if strings.TrimSpace(o.prefix) == "" {
		return errors.New("-bucket-prefix is required (make publish BUCKET_PREFIX=...): the prefix of the buckets <prefix>-<region> you own, " +
			"which will hold the code that reads the Sysdig token")
	}
	var err error
	if o.signing, err = signingByRegion(signing, o.regions); err != nil {
		return err
	}
	return publish(ctx, o, stdout)
}

func publish(ctx context.Context, o options, stdout io.Writer) error {
	zip, err := os.ReadFile(o.zip)
	if err != nil {
		return err
	}
	tmpl, err := os.ReadFile(o.template)
	if err != nil {
		return err
	}
	for i := range o.nested {
		if o.nested[i].body, err = os.ReadFile(o.nested[i].file); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(zip)
	fmt.Fprintf(stdout, "function zip sha256 %s (%d bytes)\n", hex.EncodeToString(sum[:]), len(zip))

	for _, region := range o.regions {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return fmt.Errorf("aws config for %s: %w", region, err)
		}
		client := s3.NewFromConfig(cfg, func(so *s3.Options) {
			if o.endpoint != "" {
				so.BaseEndpoint = aws.String(o.endpoint)
			}
			so.UsePathStyle = o.pathStyle
		})
		bucket := launch.RegionalBucket(o.prefix, region)
		if err := put(ctx, client, bucket, o.codeKey, "application/zip", zip); err != nil {
			return err
		}
		if err := put(ctx, client, bucket, o.templateKey, "application/json", tmpl); err != nil {
			return err
		}
		params := map[string]string{
			launch.ParamCodeBucketPrefix: o.prefix,
			launch.ParamCodeKey:          o.codeKey,
		}
		for _, n := range o.nested {
			if err := put(ctx, client, bucket, n.key, "application/json", n.body); err != nil {
				return err
			}
			params[n.param] = n.key
			fmt.Fprintf(stdout, "%s: s3://%s/%s (%s)\n", region, bucket, n.key, n.what)
		}
		if arn := o.signing[region]; arn != "" {
			params[launch.ParamCodeSigningConfigArn] = arn
		}
		url := launch.QuickCreateURL(region, launch.TemplateURL(bucket, region, o.templateKey), o.stackName, params)
		fmt.Fprintf(stdout, "%s: s3://%s/%s, s3://%s/%s\n  Launch Stack: %s\n", region, bucket, o.codeKey, bucket, o.templateKey, url)
	}
	return nil
}

// nestedTemplate is a template the deployer reads from its code bucket.
type nestedTemplate struct {
	file, key, param, what string
	body                   []byte
}

// signingByRegion reads comma-separated code signing configuration ARNs into a map by
// the region each names (a configuration serves functions of its own region only).
func signingByRegion(list string, regions []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		parsed, err := arn.Parse(a)
		if err != nil || parsed.Service != "lambda" || !strings.HasPrefix(parsed.Resource, "code-signing-config:csc-") {
			return nil, fmt.Errorf("-code-signing-config: %q is not a Lambda code signing configuration ARN", a)
		}
		if !slices.Contains(regions, parsed.Region) {
			return nil, fmt.Errorf("-code-signing-config: %s is in %s, which is not one of the regions published to", a, parsed.Region)
		}
		if _, dup := out[parsed.Region]; dup {
			return nil, fmt.Errorf("-code-signing-config: two configurations for %s", parsed.Region)
		}
		out[parsed.Region] = a
	}
	return out, nil
}

func put(ctx context.Context, client *s3.Client, bucket, key, contentType string, body []byte) error {
	sum := sha256.Sum256(body)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(bucket),
		Key:            aws.String(key),
		Body:           bytes.NewReader(body),
		ContentLength:  aws.Int64(int64(len(body))),
		ContentType:    aws.String(contentType),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	slog.Info("uploaded", "bucket", bucket, "key", key, "bytes", len(body))
	return nil
}
