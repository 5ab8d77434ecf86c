package orgsim

import (
	"context"

	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// scanCounter counts the registry's Scan pages.
type scanCounter struct {
	*dynamodb.Client
	scans atomic.Int64
}

func (c *scanCounter) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.scans.Add(1)
	return c.Client.Scan(ctx, in, opts...)
}

// timedProviders records when the first Sysdig read started and the last one ended.
type timedProviders struct {
	*sysdig.Client
	mu          sync.Mutex
	reads       int
	first, last time.Time
}

func (p *timedProviders) GetProvider(ctx context.Context, v sysdig.APIVersion, id string) (sysdig.Provider, error) {
	start := time.Now()
	pr, err := p.Client.GetProvider(ctx, v, id)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	if p.first.IsZero() || start.Before(p.first) {
		p.first = start
	}
	p.last = time.Now()
	return pr, err
}

// scaleRun is one status of the whole organization with what it cost.
type scaleRun struct {
	report                    *orgreport.Report
	orgCalls, cfnCalls, scans int64
	reads                     int
	readTime                  time.Duration
	limit                     int
}

func runStatus(ctx context.Context, w *World) (scaleRun, error) {
	st, err := orgreport.ReadStack(ctx, w.CloudFormation(), StackName)
	if err != nil {
		return scaleRun{}, err
	}
	c, err := sysdig.New(w.SysdigURL, Token, sysdig.WithRetry(100*time.Millisecond, 2*time.Second, 5))
	if err != nil {
		return scaleRun{}, err
	}
	dyn := &scanCounter{Client: w.Dynamo.Client()}
	org := &orgreport.OrgReader{API: w.Organizations()}
	sets := &orgreport.StackSetReader{API: w.CloudFormation()}
	prov := &timedProviders{Client: c}
	rep, err := orgreport.Build(ctx, orgreport.Sources{Stack: st, Org: org, Instances: sets, Registry: registry.New(dyn, st.RegistryTable), Sysdig: prov}, orgreport.Options{})
	if err != nil {
		return scaleRun{}, err
	}
	return scaleRun{report: rep, orgCalls: org.Calls(), cfnCalls: sets.Calls(), scans: dyn.scans.Load(), reads: prov.reads,
		readTime: prov.last.Sub(prov.first), limit: c.RateLimit()}, nil
}

// wantOrgCalls is the Organizations requests of a walk: per OU (the target and n/500
// sub-OUs), its account pages (at least one) and one OU page; and one DescribeOrganization.
func wantOrgCalls(n int) int64 {
	ous := (n + 499) / 500
	calls := int64(3) // the target: one empty account page, one page of sub-OUs; DescribeOrganization
	for i := range ous {
		inOU := min(500, n-i*500)
		calls += int64((inOU+19)/20) + 1
	}
	return calls
}

// TestStatusAtScale checks the calls of a 1,200-account status: every AWS list
// paginated, one Sysdig read per provider, every account OK.
func TestStatusAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dynalite and connects 1,200 accounts")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 1200
	w, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.ConnectMany(ctx, n, 500000000000); err != nil {
		t.Fatal(err)
	}
	r, err := runStatus(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if r.report.Counts[orgreport.VerdictOK] != n || len(r.report.Rows) != n {
		t.Fatalf("counts %v", r.report.Counts)
	}
	// 1,200 instances: 12 pages of 100. Organizations: 3 sub-OUs of 500, 500, 200 accounts.
	if r.cfnCalls != 12 || r.orgCalls != wantOrgCalls(n) || r.reads != n || r.scans < 1 {
		t.Fatalf("ListStackInstances %d (want 12), Organizations %d (want %d), Sysdig reads %d, scans %d",
			r.cfnCalls, r.orgCalls, wantOrgCalls(n), r.reads, r.scans)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkOrgStatus is one `org status` of ORG_ACCOUNTS accounts (default 10,000)
// against the stand-ins, Sysdig limited to ORG_RATE_PER_MINUTE (default 4,096, Sysdig's
// highest): the AWS calls, the Sysdig reads' time against N/R, and memory.
func BenchmarkOrgStatus(b *testing.B) {
	n, rate := envInt("ORG_ACCOUNTS", 10000), envInt("ORG_RATE_PER_MINUTE", 4096)
	ctx := context.Background()
	w, err := Start(ctx, Options{RatePerMinute: rate})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	setup := time.Now()
	if err := w.ConnectMany(ctx, n, 500000000000); err != nil {
		b.Fatal(err)
	}
	b.Logf("connected %d accounts in %s", n, time.Since(setup).Round(time.Second))
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	b.ReportAllocs()
	b.ResetTimer()
	var last scaleRun
	for b.Loop() {
		r, err := runStatus(ctx, w)
		if err != nil {
			b.Fatal(err)
		}
		if r.report.Counts[orgreport.VerdictOK] != n {
			b.Fatalf("counts %v", r.report.Counts)
		}
		last = r
	}
	b.StopTimer()
	close(stop)
	ideal := time.Duration(float64(n-1) * float64(time.Minute) / float64(rate))
	ratio := float64(last.readTime) / float64(ideal)
	b.ReportMetric(float64(last.orgCalls), "org-calls")
	b.ReportMetric(float64(last.cfnCalls), "cfn-calls")
	b.ReportMetric(float64(last.scans), "registry-scans")
	b.ReportMetric(float64(last.reads), "sysdig-reads")
	b.ReportMetric(ratio, "sysdig-time/(N/R)")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
	b.Logf("%d accounts: Organizations %d calls, ListStackInstances %d, registry Scan %d pages, Sysdig %d reads in %s (N/R = %s, ratio %.3f, limit %d/min)",
		n, last.orgCalls, last.cfnCalls, last.scans, last.reads, last.readTime.Round(time.Millisecond), ideal.Round(time.Millisecond), ratio, last.limit)
	if ratio > 1.15 || math.IsNaN(ratio) {
		b.Errorf("Sysdig reads took %.3f × N/R, over 1.15", ratio)
	}
}
