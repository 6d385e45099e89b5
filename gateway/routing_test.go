package gateway_test

import (
	"context"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/server"
)

// twoRegions has two small gpt-4o pools in one data zone, so a 50-PTU Data
// Zone deployment must take 30 PTUs in one and 20 in the other.
const twoRegions = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
  - {name: westus, displayName: West US, dataZone: us}
defaultQuota:
  ProvisionedManaged: 500
  GlobalProvisionedManaged: 500
  DataZoneProvisionedManaged: 500
subscriptions:
  - {id: 6b1f0c2e-8d4a-4e7b-9c3f-2a5d7e9b1c40, displayName: routing}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 30}
  - {region: westus, model: gpt-4o, version: "2024-08-06", ptu: 20}
`

// TestRoutingByPTU checks that a deployment spread over two pools sends each
// pool calls in proportion to the PTUs it holds there.
func TestRoutingByPTU(t *testing.T) {
	e := newEnv(t, server.Options{ConfigPath: writeConfig(t, twoRegions)})
	d := e.deploy("spread", ptu.DataZoneProvisionedManaged, 50)
	held := map[string]int{}
	for _, a := range d.Allocations {
		held[a.PoolID] = a.PTU
	}
	east, west := "eastus/gpt-4o/2024-08-06", "westus/gpt-4o/2024-08-06"
	if len(held) != 2 || held[east] != 30 || held[west] != 20 {
		t.Fatalf("allocations %+v, want 30 PTUs in %s and 20 in %s", d.Allocations, east, west)
	}

	sims := newSimBackends(e.s.Catalog, sim.Config{TimeScale: fastSim})
	g := e.gateway(sims, nil)
	client := azureClient(g.endpoint, e.key())
	const calls = 100
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "spread", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(2)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := sims.counts()
	if got[east] != 60 || got[west] != 40 || len(got) != 2 {
		t.Errorf("calls per pool %v, want 60 to %s and 40 to %s", got, east, west)
	}
}
