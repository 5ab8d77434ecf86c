// Package onprem is the Kubernetes side of the seed's "Additional Configuration for
// On-Prem": the AWS access key of the on-prem Sysdig backend as the stack stores it in
// Secrets Manager (JSON {"aws.accessKey","aws.secretKey"}), and the manifest that gives
// it to the backend: a Secret named aws-credentials and patches adding AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY from it to the sysdigcloud-collector, -worker and -api
// Deployments. The objects are the Kubernetes API types, written with sigs.k8s.io/yaml.
package onprem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Key names, as the seed's Kubernetes Secret and the stack's Secrets Manager secret use them.
const (
	AccessKeyField = "aws.accessKey"
	SecretKeyField = "aws.secretKey"
)

// Environment variables the AWS SDK of the backend reads.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
)

// DefaultSecretName is the seed's Kubernetes Secret name.
const DefaultSecretName = "aws-credentials"

// Target is one Deployment of the on-prem backend and the container in it that calls AWS.
type Target struct {
	Deployment string
	Container  string
}

// DefaultTargets are the seed's three Deployments; the container names are those of
// Sysdig's Kubernetes manifests (draios/sysdigcloud-kubernetes). Override them when your
// installer names them otherwise.
var DefaultTargets = []Target{
	{"sysdigcloud-collector", "collector"},
	{"sysdigcloud-worker", "worker"},
	{"sysdigcloud-api", "api"},
}

// Credentials is one AWS access key.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

var (
	accessKeyRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	secretKeyRE = regexp.MustCompile(`^[A-Za-z0-9/+=]{16,128}$`)
)

// Validate checks the shapes IAM issues (never printing the secret key).
func (c Credentials) Validate() error {
	if !accessKeyRE.MatchString(c.AccessKeyID) {
		return fmt.Errorf("%s is not an AWS access key id (16 to 128 upper-case letters and digits, such as AKIA…)", AccessKeyField)
	}
	if !secretKeyRE.MatchString(c.SecretAccessKey) {
		return fmt.Errorf("%s is not an AWS secret access key (16 to 128 characters of A-Z a-z 0-9 / + =)", SecretKeyField)
	}
	return nil
}

// ParseCredentials reads the secret's JSON {"aws.accessKey":…,"aws.secretKey":…}.
// Errors never hold the value.
func ParseCredentials(secretString string) (Credentials, error) {
	var v map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(secretString))
	if err := dec.Decode(&v); err != nil || dec.More() {
		return Credentials{}, fmt.Errorf("the secret is not the JSON object {\"%s\":…,\"%s\":…} the stack writes", AccessKeyField, SecretKeyField)
	}
	str := func(k string) (string, error) {
		raw, ok := v[k]
		if !ok {
			return "", fmt.Errorf("the secret has no %q key (it holds %d keys; the stack writes %s and %s)", k, len(v), AccessKeyField, SecretKeyField)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("the secret's %q is not a string", k)
		}
		return strings.TrimSpace(s), nil
	}
	var c Credentials
	var err error
	if c.AccessKeyID, err = str(AccessKeyField); err != nil {
		return Credentials{}, err
	}
	if c.SecretAccessKey, err = str(SecretKeyField); err != nil {
		return Credentials{}, err
	}
	if err := c.Validate(); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

// SecretJSON is the secret's value for c.
func (c Credentials) SecretJSON() string {
	b, _ := json.Marshal(map[string]string{AccessKeyField: c.AccessKeyID, SecretKeyField: c.SecretAccessKey})
	return string(b)
}

// ManifestOptions configure Manifest.
type ManifestOptions struct {
	// Namespace of the Secret and the Deployments; empty: none written (kubectl's current one).
	Namespace string
	// Name of the Secret; empty: DefaultSecretName.
	Name string
	// Targets are the Deployments to patch; nil: DefaultTargets.
	Targets []Target
	// MaskSecretKey writes a placeholder instead of the secret key (demos, screenshots).
	MaskSecretKey bool
	// SecretOnly leaves the patches out: after a key rotation the Deployments already
	// read the Secret, which alone must be applied again.
	SecretOnly bool
}

// MaskedSecretKey replaces the secret key when ManifestOptions.MaskSecretKey is set.
const MaskedSecretKey = "****MASKED****"

var dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
var dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

func (o *ManifestOptions) check() error {
	if o.Name == "" {
		o.Name = DefaultSecretName
	}
	if o.Targets == nil {
		o.Targets = DefaultTargets
	}
	if o.Namespace != "" && !dnsLabelRE.MatchString(o.Namespace) {
		return fmt.Errorf("namespace %q is not a Kubernetes namespace name (lower-case letters, digits and -, at most 63)", o.Namespace)
	}
	if !dnsSubdomainRE.MatchString(o.Name) {
		return fmt.Errorf("secret name %q is not a Kubernetes object name (lower-case letters, digits, - and ., at most 253)", o.Name)
	}
	for _, t := range o.Targets {
		if !dnsSubdomainRE.MatchString(t.Deployment) || !dnsLabelRE.MatchString(t.Container) {
			return fmt.Errorf("deployment %q / container %q is not a valid Kubernetes name", t.Deployment, t.Container)
		}
	}
	return nil
}

// Secret is the Kubernetes Secret holding c.
func Secret(c Credentials, o ManifestOptions) (*corev1.Secret, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	secret := c.SecretAccessKey
	if o.MaskSecretKey {
		secret = MaskedSecretKey
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "sysdig-connect"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{AccessKeyField: []byte(c.AccessKeyID), SecretKeyField: []byte(secret)},
	}, nil
}

// Patch is the strategic-merge patch of one Deployment: the two variables from the Secret.
// (Containers merge by name, env entries by name: the patch adds or replaces only these.)
func Patch(t Target, o ManifestOptions) (*appsv1.Deployment, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ref := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: o.Name}, Key: key}}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: t.Deployment, Namespace: o.Namespace},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: t.Container,
			Env: []corev1.EnvVar{
				{Name: EnvAccessKeyID, ValueFrom: ref(AccessKeyField)},
				{Name: EnvSecretAccessKey, ValueFrom: ref(SecretKeyField)},
			},
		}}}}},
	}, nil
}

// Manifest writes the Secret and the patches as YAML documents, each after a comment
// saying how to apply it.
func Manifest(c Credentials, o ManifestOptions) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	secret, err := Secret(c, o)
	if err != nil {
		return nil, err
	}
	ns := ""
	if o.Namespace != "" {
		ns = " -n " + o.Namespace
	}
	var buf bytes.Buffer
	doc := func(comment string, obj any) error {
		b, err := compactYAML(obj)
		if err != nil {
			return err
		}
		if buf.Len() > 0 {
			buf.WriteString("---\n")
		}
		for _, line := range strings.Split(comment, "\n") {
			buf.WriteString("# " + line + "\n")
		}
		buf.Write(b)
		return nil
	}
	comment := fmt.Sprintf("The AWS access key of the on-prem Sysdig backend (sysdig-connect onprem k8s-secret).\nApply: kubectl%s apply -f <this document>", ns)
	if o.MaskSecretKey {
		comment += "\n" + SecretKeyField + " is MASKED here (" + MaskedSecretKey + "): run without masking to apply it."
	}
	if err := doc(comment, secret); err != nil {
		return nil, err
	}
	for _, t := range o.patchTargets() {
		p, err := Patch(t, o)
		if err != nil {
			return nil, err
		}
		// kubectl patch merges strategically by default; the lines stay within 100 columns.
		if err := doc(fmt.Sprintf("Strategic-merge patch: %s and %s\nfrom Secret %s in container %s.\nApply: kubectl%s patch deployment %s --patch-file <this document>",
			EnvAccessKeyID, EnvSecretAccessKey, o.Name, t.Container, ns, t.Deployment), p); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// patchTargets are the Deployments whose patches the manifest holds.
func (o ManifestOptions) patchTargets() []Target {
	if o.SecretOnly {
		return nil
	}
	return o.Targets
}

// compactYAML writes obj without the zero values the API types marshal (null selector,
// creationTimestamp, empty status): in a merge patch a null deletes the field.
func compactYAML(obj any) ([]byte, error) {
	v, err := pruned(obj)
	if err != nil {
		return nil, err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}

func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			e = prune(e)
			if e == nil {
				delete(t, k)
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				delete(t, k)
				continue
			}
			t[k] = e
		}
		return t
	case []any:
		for i := range t {
			t[i] = prune(t[i])
		}
		return t
	}
	return v
}

// ManifestJSON is the same objects as Manifest for programs: {"secret": …, "patches": […]}.
func ManifestJSON(c Credentials, o ManifestOptions) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	secret, err := Secret(c, o)
	if err != nil {
		return nil, err
	}
	out := struct {
		Secret  any   `json:"secret"`
		Patches []any `json:"patches"`
	}{}
	if out.Secret, err = pruned(secret); err != nil {
		return nil, err
	}
	out.Patches = []any{}
	for _, t := range o.patchTargets() {
		p, err := Patch(t, o)
		if err != nil {
			return nil, err
		}
		v, err := pruned(p)
		if err != nil {
			return nil, err
		}
		out.Patches = append(out.Patches, v)
	}
	return json.MarshalIndent(out, "", "  ")
}

func pruned(obj any) (any, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	return prune(v), nil
}
