package api

// ServiceAccount is a v1 ServiceAccount. berth has no API server: no
// token is issued or mounted. Its imagePullSecrets are added to the pods
// that run as it and name none (the ServiceAccount admission plugin's
// behaviour).
type ServiceAccount struct {
	TypeMeta                     `yaml:",inline"`
	Metadata                     ObjectMeta             `json:"metadata" yaml:"metadata"`
	Secrets                      []ObjectReference      `json:"secrets,omitempty" yaml:"secrets,omitempty"`
	ImagePullSecrets             []LocalObjectReference `json:"imagePullSecrets,omitempty" yaml:"imagePullSecrets,omitempty"`
	AutomountServiceAccountToken *bool                  `json:"automountServiceAccountToken,omitempty" yaml:"automountServiceAccountToken,omitempty"`
}

// ObjectReference names an object.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty" yaml:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Name            string `json:"name,omitempty" yaml:"name,omitempty"`
	UID             string `json:"uid,omitempty" yaml:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty" yaml:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty" yaml:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty" yaml:"fieldPath,omitempty"`
}

// DefaultServiceAccount is the ServiceAccount every namespace has
// (Kubernetes' service account controller makes it), and the one a pod
// that names none runs as.
const DefaultServiceAccount = "default"

// ServiceAccount is the ServiceAccount the pod runs as, as the API
// server reads it: serviceAccountName, else the deprecated
// serviceAccount, else "default" (the ServiceAccount admission plugin).
func (s *PodSpec) ServiceAccount() string {
	switch {
	case s.ServiceAccountName != "":
		return s.ServiceAccountName
	case s.DeprecatedServiceAccount != "":
		return s.DeprecatedServiceAccount
	}
	return DefaultServiceAccount
}

// RBACGroup is the API group of Roles and bindings.
const RBACGroup = "rbac.authorization.k8s.io"

// Role is an rbac.authorization.k8s.io/v1 Role: checked, granting
// nothing on a berth node.
type Role struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta   `json:"metadata" yaml:"metadata"`
	Rules    []PolicyRule `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// ClusterRole is an rbac.authorization.k8s.io/v1 ClusterRole.
type ClusterRole struct {
	TypeMeta        `yaml:",inline"`
	Metadata        ObjectMeta       `json:"metadata" yaml:"metadata"`
	Rules           []PolicyRule     `json:"rules,omitempty" yaml:"rules,omitempty"`
	AggregationRule *AggregationRule `json:"aggregationRule,omitempty" yaml:"aggregationRule,omitempty"`
}

// AggregationRule makes a ClusterRole the union of the ClusterRoles its
// selectors match.
type AggregationRule struct {
	ClusterRoleSelectors []LabelSelector `json:"clusterRoleSelectors,omitempty" yaml:"clusterRoleSelectors,omitempty"`
}

// PolicyRule allows verbs on resources or on non-resource URLs.
type PolicyRule struct {
	Verbs           []string `json:"verbs,omitempty" yaml:"verbs,omitempty"`
	APIGroups       []string `json:"apiGroups,omitempty" yaml:"apiGroups,omitempty"`
	Resources       []string `json:"resources,omitempty" yaml:"resources,omitempty"`
	ResourceNames   []string `json:"resourceNames,omitempty" yaml:"resourceNames,omitempty"`
	NonResourceURLs []string `json:"nonResourceURLs,omitempty" yaml:"nonResourceURLs,omitempty"`
}

// RoleBinding is an rbac.authorization.k8s.io/v1 RoleBinding.
type RoleBinding struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Subjects []Subject  `json:"subjects,omitempty" yaml:"subjects,omitempty"`
	RoleRef  RoleRef    `json:"roleRef" yaml:"roleRef"`
}

// ClusterRoleBinding is an rbac.authorization.k8s.io/v1 ClusterRoleBinding.
type ClusterRoleBinding struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Subjects []Subject  `json:"subjects,omitempty" yaml:"subjects,omitempty"`
	RoleRef  RoleRef    `json:"roleRef" yaml:"roleRef"`
}

// Subject is a ServiceAccount, User or Group a binding grants a role to.
type Subject struct {
	Kind      string `json:"kind" yaml:"kind"`
	APIGroup  string `json:"apiGroup,omitempty" yaml:"apiGroup,omitempty"`
	Name      string `json:"name" yaml:"name"`
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
}

// RoleRef is the Role or ClusterRole a binding grants.
type RoleRef struct {
	APIGroup string `json:"apiGroup" yaml:"apiGroup"`
	Kind     string `json:"kind" yaml:"kind"`
	Name     string `json:"name" yaml:"name"`
}

// PriorityClass is a scheduling.k8s.io/v1 PriorityClass.
type PriorityClass struct {
	TypeMeta         `yaml:",inline"`
	Metadata         ObjectMeta `json:"metadata" yaml:"metadata"`
	Value            int32      `json:"value" yaml:"value"`
	GlobalDefault    bool       `json:"globalDefault,omitempty" yaml:"globalDefault,omitempty"`
	Description      string     `json:"description,omitempty" yaml:"description,omitempty"`
	PreemptionPolicy string     `json:"preemptionPolicy,omitempty" yaml:"preemptionPolicy,omitempty"`
}

// The PriorityClasses every cluster has (scheduling.k8s.io's
// SystemPriorityClasses): they exist implicitly, as in Kubernetes.
const (
	// HighestUserDefinablePriority bounds the value of any other class.
	HighestUserDefinablePriority = 1000000000
	SystemClusterCritical        = "system-cluster-critical"
	SystemNodeCritical           = "system-node-critical"
	// SystemPriorityClassPrefix is reserved for the two above.
	SystemPriorityClassPrefix = "system-"
)

// SystemPriorityClasses are the built-in classes and their values.
var SystemPriorityClasses = map[string]int32{
	SystemClusterCritical: 2 * HighestUserDefinablePriority,
	SystemNodeCritical:    2*HighestUserDefinablePriority + 1000,
}
