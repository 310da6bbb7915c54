package lint

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// metadataName checks an object's name with the rule its kind has in the
// API server; kinds not listed get the most common one, a DNS subdomain.
func metadataName(obj *object) error {
	var errs field.ErrorList
	for _, msg := range nameRule(obj.Kind)(obj.Metadata.Name, false) {
		errs = append(errs, field.Invalid(field.NewPath("metadata").Child("name"), obj.Metadata.Name, msg))
	}
	if len(errs) > 0 {
		return fmt.Errorf("object name does not conform to Kubernetes naming requirements: %q: %w", obj.Metadata.Name, errs.ToAggregate())
	}
	return nil
}

// nameRule maps kinds to the name validation of their API group, as
// Helm's linter does (it too avoids importing k8s.io/kubernetes).
func nameRule(kind string) validation.ValidateNameFunc {
	switch strings.ToLower(kind) {
	case "service":
		return validation.NameIsDNS1035Label
	case "namespace":
		return validation.ValidateNamespaceName
	case "serviceaccount":
		return validation.ValidateServiceAccountName
	case "certificatesigningrequest":
		return func(string, bool) []string { return nil }
	case "role", "clusterrole", "rolebinding", "clusterrolebinding":
		return func(name string, _ bool) []string { return path.IsValidPathSegmentName(name) }
	default:
		return validation.NameIsDNSSubdomain
	}
}
