package sysdig_test

import (
	"context"
	"fmt"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

func Example() {
	emu := sysdigemu.New(sysdigemu.WithToken("my-token"), sysdigemu.WithExternalID("04acdd59-4c98-4d11-8ee5-424326248161"))
	baseURL, stop := emu.Start()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sysdig.New(baseURL, "my-token", sysdig.WithRetry(time.Millisecond, 10*time.Millisecond, 5))
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := c.ExternalID(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.ExternalID, info.SysdigAWSAccountID, info.Source)

	spec := sysdig.ProviderSpec{RoleARN: "arn:aws:iam::123456789012:role/sysdig", Alias: "prod", Regions: []string{"us-east-1"}}
	p, err := c.CreateProvider(ctx, sysdig.V1, spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.ID, p.RoleARN, p.Regions, p.Status)

	_, err = c.CreateProvider(ctx, sysdig.V1, spec)
	fmt.Println(sysdig.IsConflict(err), err)

	emu.Inject(sysdigemu.Fault{Statuses: []int{500, 500, 500, 500, 500}})
	_, err = c.ListProviders(ctx, sysdig.V2)
	fmt.Println(err)

	bad, _ := sysdig.New(baseURL, "wrong-token")
	_, err = bad.ListProviders(ctx, sysdig.V2)
	fmt.Println(err)
	// Output:
	// 04acdd59-4c98-4d11-8ee5-424326248161 273107874544 /api/v2/providers/info/awsCloudInformation
	// 1 arn:aws:iam::123456789012:role/sysdig [US_EAST_1] configured
	// true sysdig: POST /api/providers: 409 Conflict: a provider for role arn:aws:iam::123456789012:role/sysdig already exists (id 1)
	// sysdig: GET /api/v2/providers: 500 Internal Server Error: injected fault (gave up after 5 attempts)
	// sysdig: GET /api/v2/providers: 401 Unauthorized: Bad credentials (the API token was rejected: use a current Sysdig Monitor API token of an administrator, from Settings > User Profile > Sysdig Monitor API)
}
