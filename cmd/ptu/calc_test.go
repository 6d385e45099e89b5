package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/client"
)

// TestCalc runs the example (1,000 calls a minute, 200 in, 20 out,
// half the prompt cached) and several summed workloads against a real server.
func TestCalc(t *testing.T) {
	e := newCLIEnv(t)
	e.golden("calc-gpt-4o", e.mustPTU("calc", "--model", "gpt-4o", "--version", "2024-11-20",
		"--rpm", "1000", "--prompt-tokens", "200", "--completion-tokens", "20", "--cache-rate", "0.5"))
	e.golden("calc-workloads-sku", e.mustPTU("calc", "--model", "gpt-4.1", "--sku-name", "DataZoneProvisionedManaged",
		"--workload", "45:1000:200", "--workload", "7:7000:150", "--workload", "24:7000:1:25%"))

	var res client.CapacityResult
	out := e.mustPTU("calc", "--model", "gpt-4o", "--rpm", "1000", "--prompt-tokens", "200", "--completion-tokens", "20", "-o", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// 280,000 normalized TPM ÷ 2,500 = 112 PTU; Global rounds to 115.
	if res.EstimatedCapacity.Value != 112 || res.EstimatedCapacity.DeployableValue != 115 || res.SKUName != "GlobalProvisionedManaged" {
		t.Errorf("json: %+v", res)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "gpt-4o"}, "no workload"},
		{[]string{"--model", "gpt-4o", "--rpm", "10"}, "go together"},
		{[]string{"--model", "gpt-4o", "--rpm", "10", "--prompt-tokens", "1", "--completion-tokens", "1", "--workload", "1:1:1"}, "not both"},
		{[]string{"--model", "gpt-4o", "--workload", "1:1"}, "RPM:PROMPT:COMPLETION"},
		{[]string{"--model", "gpt-4o", "--workload", "1:1:1:150%"}, "not between 0 and 1"},
		{[]string{"--model", "gpt-4o", "--rpm", "10", "--prompt-tokens", "1", "--completion-tokens", "1", "--sku", "ProvisinedManaged"}, "InvalidSkuName"},
		{[]string{"--model", "gpt-9", "--rpm", "10", "--prompt-tokens", "1", "--completion-tokens", "1"}, "DeploymentModelNotSupported"},
	} {
		_, _, err := ptu(t, "", append([]string{"calc"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ptu calc %s: error %v, want one containing %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}
