package armwire_test

import (
	"encoding/json"
	"testing"

	"github.com/ptu-dev/ptu/armwire"
)

func TestFitDeployment(t *testing.T) {
	capacity := 100
	newDep := func() armwire.Deployment {
		return armwire.Deployment{Name: "d", SKU: &armwire.SKU{Name: "GlobalProvisionedManaged", Capacity: &capacity},
			Properties: armwire.DeploymentProperties{CurrentCapacity: 100, VersionUpgradeOption: "NoAutoUpgrade",
				SpilloverDeploymentName: "s", RateLimits: []armwire.ThrottlingRule{{Key: "request"}}}}
	}
	for _, v := range []string{"", "2023-05-01", "2024-10-01", "2023-10-01-preview"} {
		d := newDep()
		armwire.Shape{Version: v}.FitDeployment(&d, true)
		if d.SKU == nil || d.Properties.ScaleSettings != nil || d.Capacity() != 100 {
			t.Errorf("%q: %+v, want the sku shape", v, d)
		}
	}
	for _, c := range []struct {
		version     string
		provisioned bool
		scale       string
	}{{"2022-12-01", true, "Manual"}, {"2021-10-01", false, "Standard"}} {
		d := newDep()
		armwire.Shape{Version: c.version}.FitDeployment(&d, c.provisioned)
		ss := d.Properties.ScaleSettings
		if d.SKU != nil || ss == nil || ss.ScaleType != c.scale || *ss.Capacity != 100 || *ss.ActiveCapacity != 100 {
			t.Fatalf("%s: %+v, want scaleSettings %s of 100 and no sku", c.version, d, c.scale)
		}
		b, _ := json.Marshal(d)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		props := m["properties"].(map[string]any)
		for _, k := range []string{"versionUpgradeOption", "spilloverDeploymentName", "currentCapacity", "rateLimits"} {
			if _, ok := props[k]; ok {
				t.Errorf("%s: %s present: %s", c.version, k, b)
			}
		}
		if _, ok := m["sku"]; ok {
			t.Errorf("%s: sku present: %s", c.version, b)
		}
	}
}

func TestShapeVersions(t *testing.T) {
	for v, want := range map[string][2]bool{ // hasDeployments, deploymentSKU
		"2017-04-18": {false, false}, "2021-04-30": {false, false}, "2016-02-01-preview": {false, false},
		"2021-10-01": {true, false}, "2022-12-01": {true, false},
		"2023-05-01": {true, true}, "2023-10-01-preview": {true, true}, "": {true, true},
	} {
		s := armwire.Shape{Version: v}
		if got := [2]bool{s.HasDeployments(), s.DeploymentSKU()}; got != want {
			t.Errorf("%q: HasDeployments, DeploymentSKU = %v, want %v", v, got, want)
		}
	}
	for in, want := range map[string]string{"Manual": "ProvisionedManaged", "manual": "ProvisionedManaged", "STANDARD": "Standard", "Auto": ""} {
		if got, ok := armwire.SKUOfScale(in); got != want || ok != (want != "") {
			t.Errorf("SKUOfScale(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestShortage(t *testing.T) {
	infos := []armwire.AdditionalInfo{
		{Type: "Other", Info: json.RawMessage(`{"requested":1}`)},
		{Type: armwire.CapacityShortageType, Info: json.RawMessage(`{"requested":300,"deployableNow":100,"quotaFree":500,"alternatives":[{"location":"westus","maxCapacity":400}]}`)},
	}
	s := armwire.Shortage(infos)
	if s == nil || s.Requested != 300 || s.DeployableNow != 100 || len(s.Alternatives) != 1 || s.Alternatives[0].Location != "westus" {
		t.Fatalf("Shortage = %+v", s)
	}
	if armwire.Shortage(infos[:1]) != nil {
		t.Error("Shortage of no CapacityShortage entry is not nil")
	}
}

func TestResourceGroupOf(t *testing.T) {
	for id, want := range map[string]string{
		"/subscriptions/s/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/a": "demo",
		"/subscriptions/s/resourcegroups/Demo2/providers/x":                                     "Demo2",
		"/subscriptions/s": "", "": "",
	} {
		if got := armwire.ResourceGroupOf(id); got != want {
			t.Errorf("ResourceGroupOf(%q) = %q, want %q", id, got, want)
		}
	}
	if got := armwire.ListOf[int](nil); got.Value == nil {
		t.Error("ListOf(nil).Value is nil, want empty")
	}
}
