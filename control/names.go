package control

import (
	"regexp"

	"github.com/ptu-dev/ptu"
)

// ARM naming rules. Each error says which rule was broken so the caller can fix the name.
var (
	resourceGroupRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	accountRE       = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{1,63}$`)
	subDomainRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$`)
	deploymentRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$`)
	guidRE          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

func checkResourceGroup(rg string) error {
	if !resourceGroupRE.MatchString(rg) || rg[len(rg)-1] == '.' {
		return ptu.Errorf(ptu.CodeInvalidResourceName,
			"Resource group name '%s' is invalid. It must be 1-90 characters of letters, digits, '-', '_', '.', '(' or ')', and must not end with '.'.", rg)
	}
	return nil
}

func checkAccountName(name string) error {
	if !accountRE.MatchString(name) {
		return ptu.Errorf(ptu.CodeInvalidResourceName,
			"Account name '%s' is invalid. It must be 2-64 characters of letters, digits and '-', starting with a letter or digit.", name)
	}
	return nil
}

func checkDeploymentName(name string) error {
	if !deploymentRE.MatchString(name) {
		return ptu.Errorf(ptu.CodeInvalidResourceName,
			"Deployment name '%s' is invalid. It must be 2-64 characters of letters, digits, '-', '_' and '.', starting with a letter or digit.", name)
	}
	return nil
}

func checkSubDomain(sd string) error {
	if !subDomainRE.MatchString(sd) {
		return ptu.Errorf(ptu.CodeInvalidResourceProperties,
			"Custom subdomain name '%s' is invalid. It must be 2-64 lowercase letters, digits and '-', starting and ending with a letter or digit.", sd)
	}
	return nil
}

// IsGUID reports whether s looks like a subscription id.
func IsGUID(s string) bool { return guidRE.MatchString(s) }
