package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cognitiveservices/armcognitiveservices"
)

// TestCalculateModelCapacitySDK calls the calculator with the official SDK,
// which sends integers and reads value and deployableValue as int32.
func TestCalculateModelCapacitySDK(t *testing.T) {
	e := newEnvWith(t, testCatalog(t))
	mc := sdkClients(t, e, adminToken).NewManagementClient()
	ctx := context.Background()
	param := func(sku string, ws ...[3]int64) armcognitiveservices.CalculateModelCapacityParameter {
		p := armcognitiveservices.CalculateModelCapacityParameter{
			Model: &armcognitiveservices.DeploymentModel{Format: to.Ptr("OpenAI"), Name: to.Ptr("gpt-4o"), Version: to.Ptr("2024-08-06")},
		}
		if sku != "" {
			p.SKUName = to.Ptr(sku)
		}
		for _, w := range ws {
			p.Workloads = append(p.Workloads, &armcognitiveservices.ModelCapacityCalculatorWorkload{
				RequestPerMinute: to.Ptr(w[0]),
				RequestParameters: &armcognitiveservices.ModelCapacityCalculatorWorkloadRequestParam{
					AvgPromptTokens: to.Ptr(w[1]), AvgGeneratedTokens: to.Ptr(w[2])},
			})
		}
		return p
	}
	tests := []struct {
		sku             string
		workloads       [][3]int64
		wantSKU         string
		value, deployed int32
	}{
		// 1,000 × 200 + 4 × 1,000 × 20 = 280,000 normalized TPM ÷ 2,500 = 112 PTU.
		{"GlobalProvisionedManaged", [][3]int64{{1000, 200, 20}}, "GlobalProvisionedManaged", 112, 115},
		{"DataZoneProvisionedManaged", [][3]int64{{1000, 200, 20}}, "DataZoneProvisionedManaged", 112, 115},
		{"ProvisionedManaged", [][3]int64{{1000, 200, 20}}, "ProvisionedManaged", 112, 150},
		{"", [][3]int64{{1000, 200, 20}}, "GlobalProvisionedManaged", 112, 115},
		// The spec example's two workloads: 10 × (30 + 4 × 50) + 20 × (60 + 4 × 20) = 5,100 → 2.04 PTU.
		{"provisionedmanaged", [][3]int64{{10, 30, 50}, {20, 60, 20}}, "ProvisionedManaged", 3, 50},
	}
	for _, tt := range tests {
		res, err := mc.CalculateModelCapacity(ctx, param(tt.sku, tt.workloads...), nil)
		if err != nil {
			t.Fatalf("%s %v: %v", tt.sku, tt.workloads, err)
		}
		got := res.CalculateModelCapacityResult
		if *got.SKUName != tt.wantSKU || *got.EstimatedCapacity.Value != tt.value || *got.EstimatedCapacity.DeployableValue != tt.deployed {
			t.Errorf("%s %v: skuName %s value %d deployableValue %d, want %s %d %d", tt.sku, tt.workloads,
				*got.SKUName, *got.EstimatedCapacity.Value, *got.EstimatedCapacity.DeployableValue, tt.wantSKU, tt.value, tt.deployed)
		}
		if *got.Model.Name != "gpt-4o" || *got.Model.Version != "2024-08-06" || *got.Model.Format != "OpenAI" {
			t.Errorf("model %s %s %s", *got.Model.Format, *got.Model.Name, *got.Model.Version)
		}
	}

	// The spec example's misspelled type is refused with the valid ones named.
	_, err := mc.CalculateModelCapacity(ctx, param("ProvisinedManaged", [3]int64{10, 30, 50}), nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || re.ErrorCode != "InvalidSkuName" {
		t.Fatalf("misspelled skuName: %v", err)
	}
}

// TestCalculateModelCapacityShapes compares whole responses with
// testdata/calc/*.json (regenerate with go test ./arm -run TestCalculateModelCapacityShapes -update).
func TestCalculateModelCapacityShapes(t *testing.T) {
	e := newEnvWith(t, testCatalog(t))
	path := q(subPath("/providers/Microsoft.CognitiveServices/calculateModelCapacity"))
	tests := []struct{ name, path, body string }{
		{"two-workloads-cache-rate", path, `{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"skuName":"DataZoneProvisionedManaged",
			"workloads":[{"requestPerMinute":1000,"requestParameters":{"avgPromptTokens":200,"avgGeneratedTokens":20,"cacheRate":0.5}},
			             {"requestPerMinute":45,"requestParameters":{"avgPromptTokens":1000,"avgGeneratedTokens":200}}]}`},
		{"default-version-no-sku", path, `{"model":{"name":"GPT-4O-MINI"},"workloads":[{"requestPerMinute":10,"requestParameters":{"avgPromptTokens":30.5,"avgGeneratedTokens":50}}]}`},
		{"no-workloads", path, `{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"skuName":"GlobalProvisionedManaged","workloads":[]}`},
		{"missing-parameters", path, `{"model":{"name":"gpt-4o"},"workloads":[{"requestPerMinute":10}]}`},
		{"cache-rate-percent", path, `{"model":{"name":"gpt-4o"},"workloads":[{"requestPerMinute":10,"requestParameters":{"avgPromptTokens":30,"avgGeneratedTokens":50,"cacheRate":50}}]}`},
		{"negative-rpm", path, `{"model":{"name":"gpt-4o"},"workloads":[{"requestPerMinute":-1,"requestParameters":{"avgPromptTokens":30,"avgGeneratedTokens":50}}]}`},
		{"wrong-type", path, `{"model":{"name":"gpt-4o"},"workloads":[{"requestPerMinute":"ten","requestParameters":{"avgPromptTokens":30,"avgGeneratedTokens":50}}]}`},
		{"unknown-model", path, `{"model":{"name":"gpt-5.2","version":"2025-12-11"},"workloads":[{"requestPerMinute":1000,"requestParameters":{"avgPromptTokens":200,"avgGeneratedTokens":20}}]}`},
		{"unknown-version", path, `{"model":{"name":"gpt-4o","version":"2099-01-01"},"workloads":[{"requestPerMinute":1000,"requestParameters":{"avgPromptTokens":200,"avgGeneratedTokens":20}}]}`},
		{"standard-sku", path, `{"model":{"name":"gpt-4o"},"skuName":"GlobalStandard","workloads":[{"requestPerMinute":1000,"requestParameters":{"avgPromptTokens":200,"avgGeneratedTokens":20}}]}`},
		{"unknown-subscription", q("/subscriptions/00000000-0000-0000-0000-0000000000ff/providers/Microsoft.CognitiveServices/calculateModelCapacity"),
			`{"model":{"name":"gpt-4o"},"workloads":[{"requestPerMinute":1000,"requestParameters":{"avgPromptTokens":200,"avgGeneratedTokens":20}}]}`},
		{"get-not-allowed", path, ""},
	}
	for _, tt := range tests {
		method := http.MethodPost
		if tt.body == "" {
			method = http.MethodGet
		}
		rec := e.do(method, tt.path, tt.body)
		body := rec.Body.String()
		if id := rec.Header().Get("x-ms-request-id"); id != "" {
			body = strings.ReplaceAll(body, id, "<request-id>")
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, []byte(body), "", "  "); err != nil {
			t.Fatalf("%s: %v\n%s", tt.name, err, body)
		}
		got := http.StatusText(rec.Code) + "\n" + ind.String() + "\n"
		file := filepath.Join("testdata", "calc", tt.name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s: response differs (run go test ./arm -run TestCalculateModelCapacityShapes -update to accept)\n--- got\n%s\n--- want\n%s", tt.name, got, want)
		}
	}
}
