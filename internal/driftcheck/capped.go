package driftcheck

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/sysdig"
)

// readMargin is the time kept after the last Sysdig read to classify and write the results
// before Lambda stops the run.
const readMargin = 45 * time.Second

// cappedProviders bounds one run's Sysdig reads in count and in time: past either bound a
// read fails at once, saying why, and the account is reported UNKNOWN rather than the run
// being cut off with nothing written.
type cappedProviders struct {
	inner  orgreport.Providers
	max    int64
	stopAt time.Time // zero: no time bound
	now    func() time.Time
	reads  atomic.Int64
}

func (c *cappedProviders) GetProvider(ctx context.Context, v sysdig.APIVersion, id string) (sysdig.Provider, error) {
	if f, ok := c.inner.(failingProviders); ok { // no Sysdig to read: not a read
		return f.GetProvider(ctx, v, id)
	}
	if n := c.reads.Add(1); n > c.max {
		c.reads.Add(-1)
		return sysdig.Provider{}, fmt.Errorf("not read: the drift check reads at most %d providers a run (%s); run sysdig-connect org status for every account", c.max, EnvMaxSysdigReads)
	}
	if !c.stopAt.IsZero() {
		if !c.now().Before(c.stopAt) {
			c.reads.Add(-1)
			return sysdig.Provider{}, fmt.Errorf("not read: the drift check's run ended before this read (Sysdig's rate limit paces the reads); run sysdig-connect org status for every account")
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, c.stopAt)
		defer cancel()
	}
	return c.inner.GetProvider(ctx, v, id)
}

// Reads is how many Sysdig reads were made.
func (c *cappedProviders) Reads() int { return int(c.reads.Load()) }

// failingProviders answers every read with the reason Sysdig cannot be read at all (the
// token could not be read, the URL is refused): the AWS side of the report still counts.
type failingProviders struct{ err error }

func (f failingProviders) GetProvider(context.Context, sysdig.APIVersion, string) (sysdig.Provider, error) {
	return sysdig.Provider{}, f.err
}
