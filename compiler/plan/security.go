package plan

// SecurityContext is a container's effective security context: its own
// fields, and the pod's where it sets none (the kubelet's
// DetermineEffectiveSecurityContext), with the groups of its processes.
// The node applies it as the kubelet and containerd's CRI do; a field
// left at its zero value is the node's default.
type SecurityContext struct {
	RunAsUser    *int64 `json:"runAsUser,omitempty"`
	RunAsGroup   *int64 `json:"runAsGroup,omitempty"`
	RunAsNonRoot bool   `json:"runAsNonRoot,omitempty"`
	// SupplementalGroups are the pod's fsGroup and supplementalGroups,
	// added to the groups the image gives the user.
	SupplementalGroups     []int64 `json:"supplementalGroups,omitempty"`
	ReadOnlyRootFilesystem bool    `json:"readOnlyRootFilesystem,omitempty"`
	Privileged             bool    `json:"privileged,omitempty"`
	// AllowPrivilegeEscalation false sets no_new_privs.
	AllowPrivilegeEscalation *bool         `json:"allowPrivilegeEscalation,omitempty"`
	Capabilities             *Capabilities `json:"capabilities,omitempty"`
	// Seccomp is nil when neither the container nor the pod names a
	// profile: the node's default applies.
	Seccomp *SeccompProfile `json:"seccompProfile,omitempty"`
}

// Capabilities to add to and drop from the runtime's default set, by
// Kubernetes' names (NET_ADMIN, or CAP_NET_ADMIN, in any case).
type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Seccomp profile types, by Kubernetes' names.
const (
	SeccompRuntimeDefault = "RuntimeDefault"
	SeccompUnconfined     = "Unconfined"
	SeccompLocalhost      = "Localhost"
)

// SeccompProfile is RuntimeDefault, Unconfined, or Localhost with a
// path relative to the node's seccomp directory.
type SeccompProfile struct {
	Type             string `json:"type"`
	LocalhostProfile string `json:"localhostProfile,omitempty"`
}

// PodSecurity is what a pod's securityContext sets for the pod as a
// whole: the group that owns the volumes berth writes, and its sysctls.
type PodSecurity struct {
	// FSGroup owns the emptyDir, configMap and secret volumes (setgid
	// directories, group read and write), as the kubelet's
	// SetVolumeOwnership does.
	FSGroup *int64 `json:"fsGroup,omitempty"`
	// FSGroupChangePolicy OnRootMismatch skips a volume whose root
	// already has the right group and mode; "" is Always.
	FSGroupChangePolicy string   `json:"fsGroupChangePolicy,omitempty"`
	Sysctls             []Sysctl `json:"sysctls,omitempty"`
}

// Sysctl is a kernel parameter set in the pod's namespaces.
type Sysctl struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// FSGroupOnRootMismatch is the fsGroupChangePolicy that skips a volume
// whose root is already right.
const FSGroupOnRootMismatch = "OnRootMismatch"
