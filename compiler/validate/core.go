package validate

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/dockercfg"
)

// service is ValidateService for the fields berth supports.
func service(s *api.Service) field.ErrorList {
	errs := objectMeta(&s.Metadata, metaPath)
	spec := specPath
	headless := s.Spec.ClusterIP == "None"
	if len(s.Spec.Ports) == 0 && !headless {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	if headless && (s.Spec.Type == "LoadBalancer" || s.Spec.Type == "NodePort") {
		// The API server names spec.clusterIPs[0], which it fills from
		// spec.clusterIP: berth points at what was written.
		errs = append(errs, field.Invalid(spec.Child("clusterIP"), s.Spec.ClusterIP,
			fmt.Sprintf("may not be set to 'None' for %s services", s.Spec.Type)))
	}
	names := map[string]bool{}
	for i, p := range s.Spec.Ports {
		pp := spec.Child("ports").Index(i)
		switch {
		case len(s.Spec.Ports) > 1 && p.Name == "":
			errs = append(errs, field.Required(pp.Child("name"), ""))
		case p.Name != "" && names[p.Name]:
			errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
		}
		names[p.Name] = true
	}
	if s.Spec.SessionAffinity != "ClientIP" && s.Spec.SessionAffinityConfig != nil {
		errs = append(errs, field.Forbidden(spec.Child("sessionAffinityConfig"), "must not be set when session affinity is None"))
	}
	for i, ip := range s.Spec.ExternalIPs {
		errs = append(errs, nonSpecialIP(ip, spec.Child("externalIPs").Index(i))...)
	}
	errs = append(errs, ipFamilies(s, spec)...)
	// Duplicate ports, by protocol and port. The API server shows the
	// pair as a Go struct; berth as port/protocol.
	seen := map[string]bool{}
	for i, p := range s.Spec.Ports {
		key := strconv.Itoa(int(p.Port)) + "/" + protocol(p.Protocol)
		if seen[key] {
			errs = append(errs, field.Duplicate(spec.Child("ports").Index(i), key))
		}
		seen[key] = true
	}
	return errs
}

// ipFamilies is ValidateServiceClusterIPsRelatedFields for the families
// berth supports (IPv4 alone: the schema refuses the others): no family
// twice, and a ClusterIP of the first family. The API server names
// spec.clusterIPs[0], which it fills from spec.clusterIP: berth points
// at what was written.
func ipFamilies(s *api.Service, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, f := range s.Spec.IPFamilies {
		if seen[f] {
			errs = append(errs, field.Duplicate(spec.Child("ipFamilies").Index(i), f))
		}
		seen[f] = true
	}
	if len(s.Spec.IPFamilies) > 0 && s.Spec.IPFamilies[0] == "IPv4" && s.Spec.ClusterIP != "None" {
		if ip, err := netip.ParseAddr(s.Spec.ClusterIP); err == nil && ip.Is6() && !ip.Is4In6() {
			errs = append(errs, field.Invalid(spec.Child("clusterIP"), s.Spec.ClusterIP, "expected an IPv4 value as indicated by `ipFamilies[0]`"))
		}
	}
	return errs
}

// nonSpecialIP is ValidateNonSpecialIP: an external IP may not be
// unspecified, loopback or link-local, which mean something else on every
// node.
func nonSpecialIP(s string, path *field.Path) field.ErrorList {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return nil // the schema's finding
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, s, fmt.Sprintf("may not be unspecified (%v)", s)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, s, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// maxDataSize is the API server's MaxSecretSize, for Secrets and
// ConfigMaps alike.
const maxDataSize = 1 << 20

// configMap is ValidateConfigMap for what the schema cannot check: a key
// in both data and binaryData, and the total size.
func configMap(c *api.ConfigMap) field.ErrorList {
	errs := objectMeta(&c.Metadata, metaPath)
	total := 0
	for _, k := range slices.Sorted(maps.Keys(c.Data)) {
		if _, dup := c.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		total += len(c.Data[k])
	}
	for _, v := range c.BinaryData {
		total += base64.StdEncoding.DecodedLen(len(v))
	}
	if total > maxDataSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxDataSize))
	}
	return errs
}

// secret is ValidateSecret: the size of the data and the keys each type
// of Secret needs. The API server validates data after merging
// stringData into it; berth names the key where it was written.
func secret(s *api.Secret) field.ErrorList {
	errs := objectMeta(&s.Metadata, metaPath)
	data := s.DecodedData()
	total := 0
	for _, v := range data {
		total += len(v)
	}
	// The API server names data; berth names stringData when that is
	// where the key was, or would go, written.
	bag := "data"
	if len(s.Data) == 0 && len(s.StringData) > 0 {
		bag = "stringData"
	}
	if total > maxDataSize {
		errs = append(errs, field.TooLong(field.NewPath(bag), "", maxDataSize))
	}
	at := func(key string) *field.Path {
		if _, ok := s.StringData[key]; ok {
			return field.NewPath("stringData").Key(key)
		}
		if _, ok := s.Data[key]; ok {
			return field.NewPath("data").Key(key)
		}
		return field.NewPath(bag).Key(key)
	}
	has := func(key string) bool { _, ok := data[key]; return ok }
	switch s.SecretType() {
	case api.SecretTypeServiceAccountToken:
		if s.Metadata.Annotations[api.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(metaPath.Child("annotations").Key(api.ServiceAccountNameKey), ""))
		}
		// Valid Kubernetes, but the token controller that fills the token
		// in is the API server's: berth has none.
		w := field.Invalid(field.NewPath("type"), s.Type,
			"valid Kubernetes, but berth has no token controller: it mounts the Secret as written and fills no token in")
		errs = append(errs, w.WithOrigin(originWarning))
	case api.SecretTypeDockercfg:
		if !has(api.DockerConfigKey) {
			errs = append(errs, field.Required(at(api.DockerConfigKey), ""))
		} else if _, err := dockercfg.ParseDockercfg(data[api.DockerConfigKey]); err != nil {
			errs = append(errs, field.Invalid(at(api.DockerConfigKey), "<secret contents redacted>", err.Error()))
		}
	case api.SecretTypeDockerConfigJSON:
		if !has(api.DockerConfigJSONKey) {
			errs = append(errs, field.Required(at(api.DockerConfigJSONKey), ""))
		} else if _, err := dockercfg.ParseDockerConfigJSON(data[api.DockerConfigJSONKey]); err != nil {
			errs = append(errs, field.Invalid(at(api.DockerConfigJSONKey), "<secret contents redacted>", err.Error()))
		}
	case api.SecretTypeBasicAuth:
		// The username or the password may be empty, not both missing.
		if !has(api.BasicAuthUsernameKey) && !has(api.BasicAuthPasswordKey) {
			errs = append(errs, field.Required(at(api.BasicAuthUsernameKey), ""), field.Required(at(api.BasicAuthPasswordKey), ""))
		}
	case api.SecretTypeSSHAuth:
		if len(data[api.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(at(api.SSHAuthPrivateKey), ""))
		}
	case api.SecretTypeTLS:
		if !has(api.TLSCertKey) {
			errs = append(errs, field.Required(at(api.TLSCertKey), ""))
		}
		if !has(api.TLSPrivateKeyKey) {
			errs = append(errs, field.Required(at(api.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// limitRange is ValidateLimitRange: one item per type, and each item's
// default and defaultRequest within its min and max.
func limitRange(l *api.LimitRange) field.ErrorList {
	errs := objectMeta(&l.Metadata, metaPath)
	types := map[string]bool{}
	for i := range l.Spec.Limits {
		it := &l.Spec.Limits[i]
		p := specPath.Child("limits").Index(i)
		if types[it.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), it.Type))
		}
		types[it.Type] = true
		if it.Type == "Pod" {
			if len(it.Default) > 0 {
				errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(it.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		}
		errs = append(errs, limitRangeItem(it, p)...)
	}
	return errs
}

func limitRangeItem(it *api.LimitRangeItem, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := map[string]bool{}
	for _, m := range []map[string]string{it.Min, it.Max, it.Default, it.DefaultRequest, it.MaxLimitRequestRatio} {
		for k := range m {
			keys[k] = true
		}
	}
	get := func(m map[string]string, k string) (api.Quantity, bool) {
		s, ok := m[k]
		if !ok {
			return api.Quantity{}, false
		}
		q, err := api.ParseQuantity(s)
		return q, err == nil // a bad quantity is the schema's finding
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		lo, hasMin := get(it.Min, k)
		hi, hasMax := get(it.Max, k)
		def, hasDef := get(it.Default, k)
		if it.Type == "Pod" {
			hasDef = false
		}
		req, hasReq := get(it.DefaultRequest, k)
		if it.Type == "Pod" {
			hasReq = false
		}
		ratio, hasRatio := get(it.MaxLimitRequestRatio, k)
		if hasMin && hasMax && lo.Cmp(hi) > 0 {
			errs = append(errs, field.Invalid(p.Child("min").Key(k), lo.String(), fmt.Sprintf("min value %s is greater than max value %s", lo, hi)))
		}
		if hasReq && hasMin && lo.Cmp(req) > 0 {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("min value %s is greater than default request value %s", lo, req)))
		}
		if hasReq && hasMax && req.Cmp(hi) > 0 {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("default request value %s is greater than max value %s", req, hi)))
		}
		if hasReq && hasDef && req.Cmp(def) > 0 {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", req, def)))
		}
		if hasDef && hasMin && lo.Cmp(def) > 0 {
			errs = append(errs, field.Invalid(p.Child("default").Key(k), lo.String(), fmt.Sprintf("min value %s is greater than default value %s", lo, def)))
		}
		if hasDef && hasMax && def.Cmp(hi) > 0 {
			errs = append(errs, field.Invalid(p.Child("default").Key(k), hi.String(), fmt.Sprintf("default value %s is greater than max value %s", def, hi)))
		}
		if hasRatio && ratio.Cmp(api.MustQuantity("1")) < 0 {
			errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), ratio.String(), fmt.Sprintf("ratio %s is less than 1", ratio)))
		}
		if hasRatio && hasMin && hasMax && lo.Sign() > 0 {
			if limit := hi.Ratio(lo); ratio.Ratio(api.MustQuantity("1")) > limit {
				errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), ratio.String(), fmt.Sprintf("ratio %s is greater than max/min = %f", ratio, limit)))
			}
		}
	}
	return errs
}

// resourceQuota is ValidateResourceQuota's quantity rule: a count
// (pods, persistentvolumeclaims, count/...) is an integer.
func resourceQuota(q *api.ResourceQuota) field.ErrorList {
	errs := objectMeta(&q.Metadata, metaPath)
	for _, k := range slices.Sorted(maps.Keys(q.Spec.Hard)) {
		if !integerResource(k) {
			continue
		}
		v, err := api.ParseQuantity(q.Spec.Hard[k])
		if err == nil && v.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(specPath.Child("hard").Key(k), v.String(), "must be an integer"))
		}
	}
	return errs
}

// integerResource is the API server's IsIntegerResourceName for the
// quota names berth supports.
func integerResource(name string) bool {
	switch name {
	case "pods", "persistentvolumeclaims", "services", "configmaps", "secrets", "replicationcontrollers", "resourcequotas":
		return true
	}
	return len(name) > 6 && name[:6] == "count/"
}

// persistentVolume is ValidatePersistentVolume for the fields berth
// supports.
func persistentVolume(pv *api.PersistentVolume) field.ErrorList {
	errs := objectMeta(&pv.Metadata, metaPath)
	errs = append(errs, accessModes(pv.Spec.AccessModes, specPath.Child("accessModes"))...)
	if s, ok := pv.Spec.Capacity["storage"]; ok {
		if q, err := api.ParseQuantity(s); err == nil && q.Sign() <= 0 {
			errs = append(errs, field.Invalid(specPath.Child("capacity").Key("storage"), q.String(), "must be greater than zero"))
		}
	}
	if na := pv.Spec.NodeAffinity; na != nil {
		if na.Required == nil {
			errs = append(errs, field.Required(specPath.Child("nodeAffinity", "required"), "must specify required node constraints"))
		} else {
			for i, t := range na.Required.NodeSelectorTerms {
				errs = append(errs, requirements(t.MatchExpressions, specPath.Child("nodeAffinity", "required", "nodeSelectorTerms").Index(i).Child("matchExpressions"))...)
			}
		}
	}
	if pv.Spec.Local != nil && (pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil) {
		errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volume requires node affinity"))
	}
	if hp := pv.Spec.HostPath; hp != nil && path.Clean(hp.Path) == "/" && pv.Spec.PersistentVolumeReclaimPolicy == "Recycle" {
		errs = append(errs, field.Forbidden(specPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	return errs
}

// persistentVolumeClaim is ValidatePersistentVolumeClaim for the fields
// berth supports.
func persistentVolumeClaim(c *api.PersistentVolumeClaim) field.ErrorList {
	errs := objectMeta(&c.Metadata, metaPath)
	return append(errs, claimSpec(&c.Spec, specPath)...)
}

// accessModes: ReadWriteOncePod excludes the others.
func accessModes(modes []string, path *field.Path) field.ErrorList {
	rwop, other := false, false
	for _, m := range modes {
		if m == "ReadWriteOncePod" {
			rwop = true
		} else {
			other = true
		}
	}
	if rwop && other {
		return field.ErrorList{field.Forbidden(path, "may not use ReadWriteOncePod with other access modes")}
	}
	return nil
}
