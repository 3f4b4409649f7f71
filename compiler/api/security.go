package api

// SecurityContext is the subset of v1.SecurityContext berth applies to a
// container. A field left nil takes the pod's (PodSecurityContext) where
// the pod has one, as the kubelet's effective security context does.
type SecurityContext struct {
	RunAsUser                *int64           `json:"runAsUser,omitempty" yaml:"runAsUser,omitempty"`
	RunAsGroup               *int64           `json:"runAsGroup,omitempty" yaml:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool            `json:"runAsNonRoot,omitempty" yaml:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   bool             `json:"readOnlyRootFilesystem,omitempty" yaml:"readOnlyRootFilesystem,omitempty"`
	Privileged               bool             `json:"privileged,omitempty" yaml:"privileged,omitempty"`
	AllowPrivilegeEscalation *bool            `json:"allowPrivilegeEscalation,omitempty" yaml:"allowPrivilegeEscalation,omitempty"`
	Capabilities             *Capabilities    `json:"capabilities,omitempty" yaml:"capabilities,omitempty"`
	ProcMount                string           `json:"procMount,omitempty" yaml:"procMount,omitempty"`
	SeccompProfile           *SeccompProfile  `json:"seccompProfile,omitempty" yaml:"seccompProfile,omitempty"`
	AppArmorProfile          *AppArmorProfile `json:"appArmorProfile,omitempty" yaml:"appArmorProfile,omitempty"`
	SELinuxOptions           *SELinuxOptions  `json:"seLinuxOptions,omitempty" yaml:"seLinuxOptions,omitempty"`
}

// Capabilities to add and drop.
type Capabilities struct {
	Add  []string `json:"add,omitempty" yaml:"add,omitempty"`
	Drop []string `json:"drop,omitempty" yaml:"drop,omitempty"`
}

// PodSecurityContext is the subset of v1.PodSecurityContext berth
// applies: the defaults of its containers' security contexts, the
// groups of their processes, the owner group of the volumes berth
// writes, and the pod's sysctls.
type PodSecurityContext struct {
	RunAsUser           *int64           `json:"runAsUser,omitempty" yaml:"runAsUser,omitempty"`
	RunAsGroup          *int64           `json:"runAsGroup,omitempty" yaml:"runAsGroup,omitempty"`
	RunAsNonRoot        *bool            `json:"runAsNonRoot,omitempty" yaml:"runAsNonRoot,omitempty"`
	SupplementalGroups  []int64          `json:"supplementalGroups,omitempty" yaml:"supplementalGroups,omitempty"`
	FSGroup             *int64           `json:"fsGroup,omitempty" yaml:"fsGroup,omitempty"`
	FSGroupChangePolicy string           `json:"fsGroupChangePolicy,omitempty" yaml:"fsGroupChangePolicy,omitempty"`
	SeccompProfile      *SeccompProfile  `json:"seccompProfile,omitempty" yaml:"seccompProfile,omitempty"`
	AppArmorProfile     *AppArmorProfile `json:"appArmorProfile,omitempty" yaml:"appArmorProfile,omitempty"`
	SELinuxOptions      *SELinuxOptions  `json:"seLinuxOptions,omitempty" yaml:"seLinuxOptions,omitempty"`
	Sysctls             []Sysctl         `json:"sysctls,omitempty" yaml:"sysctls,omitempty"`
}

// SeccompProfile is RuntimeDefault, Unconfined, or Localhost with the
// path of a profile file under the node's seccomp directory.
type SeccompProfile struct {
	Type             string  `json:"type" yaml:"type"`
	LocalhostProfile *string `json:"localhostProfile,omitempty" yaml:"localhostProfile,omitempty"`
}

// AppArmorProfile is a container's AppArmor profile.
type AppArmorProfile struct {
	Type             string  `json:"type" yaml:"type"`
	LocalhostProfile *string `json:"localhostProfile,omitempty" yaml:"localhostProfile,omitempty"`
}

// SELinuxOptions are accepted empty only (the schema's rule): berth
// labels no container.
type SELinuxOptions struct {
	User  string `json:"user,omitempty" yaml:"user,omitempty"`
	Role  string `json:"role,omitempty" yaml:"role,omitempty"`
	Type  string `json:"type,omitempty" yaml:"type,omitempty"`
	Level string `json:"level,omitempty" yaml:"level,omitempty"`
}

// Sysctl is one kernel parameter set in the pod's namespaces.
type Sysctl struct {
	Name  string `json:"name" yaml:"name"`
	Value string `json:"value" yaml:"value"`
}
