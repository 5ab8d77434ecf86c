package customresource

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CloudFormation answers custom resources through a presigned URL on its own S3 bucket in
// the stack's region, cloudformation-custom-resource-response-<region without dashes>
// (AWS lists it among the buckets a VPC endpoint policy must allow). A custom resource's
// ServiceToken must be in the stack's region, so that region is the function's.

// responseBucketPrefix starts the name of CloudFormation's response buckets.
const responseBucketPrefix = "cloudformation-custom-resource-response-"

// dnsSuffixes maps region name prefixes to their partition's DNS suffix, most specific
// first; every other region is in the aws partition (amazonaws.com), GovCloud included.
var dnsSuffixes = []struct{ regionPrefix, suffix string }{
	{"cn-", "amazonaws.com.cn"},
	{"us-isob-", "sc2s.sgov.gov"},
	{"us-isof-", "csp.hci.ic.gov"},
	{"us-iso-", "c2s.ic.gov"},
	{"eu-isoe-", "cloud.adc-e.uk"},
	{"eusc-", "amazonaws.eu"},
}

// DNSSuffix is the DNS suffix of region's partition.
func DNSSuffix(region string) string {
	for _, p := range dnsSuffixes {
		if strings.HasPrefix(region, p.regionPrefix) {
			return p.suffix
		}
	}
	return "amazonaws.com"
}

// ResponseBucket is CloudFormation's response bucket of region.
func ResponseBucket(region string) string {
	return responseBucketPrefix + strings.ReplaceAll(region, "-", "")
}

// CheckResponseURL applies the answer rule of a function in region: the ResponseURL must
// be https on CloudFormation's response bucket of that region, addressed the ways S3
// allows (virtual-hosted or path style, global, regional or dual-stack endpoint), on the
// default port. With loopback (local runs) a loopback host is accepted too, over http or
// https; without it, never (in Lambda, loopback is the Runtime API and extensions).
// Its error names the host only: the query holds the URL's signature.
func CheckResponseURL(raw, region string, loopback bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("ResponseURL is not an absolute URL")
	}
	host := strings.ToLower(u.Hostname())
	if hasDotSegment(u.EscapedPath()) {
		// /<bucket>/../<other bucket>/… names the bucket rule's bucket and then leaves
		// it, for any server or proxy that resolves the dots.
		return fmt.Errorf("ResponseURL on %s has a . or .. path segment", host)
	}
	if isLoopback(host) {
		if loopback && (u.Scheme == "http" || u.Scheme == "https") {
			return nil
		}
		return errors.New("ResponseURL on a loopback host: answered only in local runs")
	}
	if u.Scheme != "https" {
		return fmt.Errorf("ResponseURL on %s is not https", host)
	}
	if u.User != nil || (u.Port() != "" && u.Port() != "443") {
		return fmt.Errorf("ResponseURL on %s carries credentials or a port", host)
	}
	if region == "" {
		return errors.New("the function's region is unknown, so no ResponseURL outside loopback can be checked")
	}
	region = strings.ToLower(region)
	bucket, suffix := ResponseBucket(region), DNSSuffix(region)
	// The bucket name alone makes the host CloudFormation's, so every S3 endpoint of the
	// region is accepted: a genuine answer refused would leave its stack waiting.
	endpoints := []string{
		"s3." + suffix,
		"s3." + region + "." + suffix,
		"s3-" + region + "." + suffix,
		"s3.dualstack." + region + "." + suffix,
		"s3-fips." + region + "." + suffix,
		"s3-fips.dualstack." + region + "." + suffix,
	}
	if region == "us-east-1" {
		endpoints = append(endpoints, "s3-external-1."+suffix)
	}
	for _, e := range endpoints {
		if host == bucket+"."+e {
			return nil
		}
		// Path style: the bucket is the first path segment.
		if host == e && strings.HasPrefix(u.EscapedPath(), "/"+bucket+"/") {
			return nil
		}
	}
	return fmt.Errorf("ResponseURL on %s is not CloudFormation's response bucket %s in %s", host, bucket, suffix)
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment, also once
// percent-decoded (%2e%2E, %2F between dots), up to three times over, and with
// backslashes read as slashes.
func hasDotSegment(escaped string) bool {
	p := escaped
	for range 4 {
		for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
			if seg == "." || seg == ".." {
				return true
			}
		}
		next, err := url.PathUnescape(p)
		if err != nil {
			return true // a broken escape is no CloudFormation URL
		}
		if next == p {
			return false
		}
		p = next
	}
	return true // still escaped after three decodings: no CloudFormation URL is
}

// ResponseHost is the host of a ResponseURL, for logs.
func ResponseHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Host
}
