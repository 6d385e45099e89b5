package ptu_test

import (
	"fmt"
	"testing"

	"github.com/ptu-dev/ptu"
)

// The resource ids are the ARM ids clients compare: byte for byte what the
// format string made of them.
func TestResourceIDs(t *testing.T) {
	for _, names := range [][3]string{
		{"00000000-0000-0000-0000-000000000001", "rg1", "acct1"},
		{"sub", "My-RG", "Acct%s"},
		{"", "", ""},
	} {
		want := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.CognitiveServices/accounts/%s", names[0], names[1], names[2])
		if got := ptu.AccountID(names[0], names[1], names[2]); got != want {
			t.Errorf("AccountID = %q, want %q", got, want)
		}
		a := ptu.Account{SubscriptionID: names[0], ResourceGroup: names[1], Name: names[2]}
		if got := a.ID(); got != want {
			t.Errorf("Account.ID = %q, want %q", got, want)
		}
		d := ptu.Deployment{SubscriptionID: names[0], ResourceGroup: names[1], AccountName: names[2], Name: "Dep1"}
		if got := d.ID(); got != want+"/deployments/Dep1" {
			t.Errorf("Deployment.ID = %q, want %q", got, want+"/deployments/Dep1")
		}
	}
}
