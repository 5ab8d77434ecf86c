package orgreport

import (
	"context"
	"time"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// Stack is what the deployer stack says about the organization's connection: its
// parameters and outputs (ReadStack reads them with DescribeStacks).
type Stack struct {
	Name              string
	ID                string // the stack's ARN
	Region            string // the deployer's region: the StackSet deploys there only
	Account           string // the deployer's account (the management account when CallAs is SELF)
	Status            string // the deployer stack's status, e.g. UPDATE_COMPLETE
	StackSet          string // the StackSet's name
	CallAs            string // SELF or DELEGATED_ADMIN
	OUs               []string
	ConnectManagement bool   // ConnectManagementAccount=true: the deployer registers its own account
	RegistryTable     string // output RegistryTableName
	SysdigRegion      string // parameter SysdigRegion (us1 … or custom)
	SysdigURL         string // the Sysdig API base URL the stack uses (resolved from SysdigRegion or SysdigCustomUrl)
	TokenSecret       string // output ApiTokenSecretArn
	ProviderAPI       string // v1 or v2
	RoleARN           string // output SysdigRoleArn: the management account's role
	ProviderID        string // output SysdigProviderId: the management account's provider
}

// Account is one AWS account of the organization.
type Account struct {
	ID    string
	Name  string
	State string // ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION
	OU    string // the OU (or root) it sits in directly
	// Target is the target OU (or root) it was found under: StackSet commands name it.
	Target string
}

// Instance is one stack instance of the StackSet.
type Instance struct {
	Account        string
	Region         string
	OU             string
	StackID        string
	Status         string // CURRENT, OUTDATED, INOPERABLE
	DetailedStatus string // PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE, SKIPPED_SUSPENDED_ACCOUNT, FAILED_IMPORT
	Reason         string
}

// Organization reads AWS Organizations.
type Organization interface {
	// Accounts lists every account under the OUs (root ids allowed), recursively.
	Accounts(ctx context.Context, ous []string) ([]Account, error)
	// Account describes one account wherever it sits; found is false when the account is
	// not (or no longer) in the organization.
	Account(ctx context.Context, id string) (a Account, found bool, err error)
}

// ManagementAccounter is an Organization that can name the management account
// (DescribeOrganization); without it, the deployer's account stands for it when CallAs is SELF.
type ManagementAccounter interface {
	ManagementAccount(ctx context.Context) (string, error)
}

// Instances reads the StackSet's stack instances.
type Instances interface {
	Instances(ctx context.Context, stackSet, callAs string) ([]Instance, error)
}

// Registry lists the registry of record (registry.Store.List).
type Registry interface {
	List(ctx context.Context, fn func(registry.Record) error) error
}

// Providers reads a provider at Sysdig by id (*sysdig.Client).
type Providers interface {
	GetProvider(ctx context.Context, v sysdig.APIVersion, id string) (sysdig.Provider, error)
}

// Sources are where Build reads from. Sysdig may be nil: the report then says nothing of
// Sysdig's side (--no-sysdig).
type Sources struct {
	Stack     Stack
	Org       Organization
	Instances Instances
	Registry  Registry
	Sysdig    Providers
}

// Options tune Build.
type Options struct {
	// Now stamps the report; zero means time.Now.
	Now time.Time
	// SysdigWorkers is how many Sysdig reads run at once (the client's pacer still spaces
	// them to the rate limit): enough to hide each answer's latency. Default 4.
	SysdigWorkers int
	// Progress, when set, is told how many Sysdig reads are done out of how many.
	Progress func(done, total int)
	// SysdigURL is the Sysdig API base URL the Sysdig reader talks to. A registration
	// recorded at another Sysdig is not read there (provider ids are per Sysdig): its row
	// is UNKNOWN, and its fix reads it where it was registered.
	SysdigURL string
}
