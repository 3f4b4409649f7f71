package validate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/fieldpath"
)

// The downward API's paths and resources, as pkg/apis/core/validation
// lists them: an env variable and a downwardAPI file accept different
// field paths.
var (
	envFieldPaths = sets.New("metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.serviceAccountName",
		"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
	volumeFieldPaths = sets.New("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")
	resourcePaths    = sets.New("limits.cpu", "limits.memory", "limits.ephemeral-storage",
		"requests.cpu", "requests.memory", "requests.ephemeral-storage")
	// Hugepages are valid Kubernetes; berth nodes have none, and
	// compiler/expand says so.
	resourcePrefixes = []string{"requests.hugepages-", "limits.hugepages-"}
	cpuDivisors      = sets.New("1m", "1")
	byteDivisors     = sets.New("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")
)

// envDownward is the downward part of validateEnvVarValueFrom for each
// of a container's variables.
func envDownward(env []api.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range env {
		vf := env[i].ValueFrom
		if vf == nil {
			continue
		}
		p := path.Index(i).Child("valueFrom")
		if vf.FieldRef != nil {
			errs = append(errs, objectFieldSelector(vf.FieldRef, envFieldPaths, p.Child("fieldRef"))...)
		}
		if vf.ResourceFieldRef != nil {
			errs = append(errs, resourceFieldSelector(vf.ResourceFieldRef, p.Child("resourceFieldRef"), false)...)
		}
	}
	return errs
}

// objectFieldSelector is validateObjectFieldSelector: the path converts
// (ConvertDownwardAPIFieldLabel), a subscript names a label or annotation
// key, and the path is one of those allowed where it is used.
func objectFieldSelector(fs *api.ObjectFieldSelector, allowed sets.Set[string], path *field.Path) field.ErrorList {
	apiVersion := fs.APIVersion
	if apiVersion == "" {
		apiVersion = "v1" // the schema's default
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(path.Child("fieldPath"), "")}
	}
	internal, err := api.ConvertFieldLabel(apiVersion, fs.FieldPath)
	if err != nil {
		return field.ErrorList{field.Invalid(path.Child("fieldPath"), fs.FieldPath, fmt.Sprintf("error converting fieldPath: %v", err))}
	}
	if p, subscript, ok := fieldpath.SplitSubscript(internal); ok {
		var msgs []string
		switch p {
		case "metadata.annotations":
			msgs = validation.IsQualifiedName(strings.ToLower(subscript))
		case "metadata.labels":
			msgs = validation.IsQualifiedName(subscript)
		default:
			return field.ErrorList{field.Invalid(path, p, "does not support subscript")}
		}
		var errs field.ErrorList
		for _, m := range msgs {
			errs = append(errs, field.Invalid(path, subscript, m))
		}
		return errs
	}
	if !allowed.Has(internal) {
		return field.ErrorList{field.NotSupported(path.Child("fieldPath"), internal, sets.List(allowed))}
	}
	return nil
}

// resourceFieldSelector is validateContainerResourceFieldSelector: a
// file (volume) names its container; the resource is a request or limit
// the downward API knows, and the divisor one of its units.
func resourceFieldSelector(fs *api.ResourceFieldSelector, path *field.Path, volume bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(path.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(path.Child("resource"), ""))
	case !resourcePaths.Has(fs.Resource) && !hugePages(fs.Resource):
		errs = append(errs, field.NotSupported(path.Child("resource"), fs.Resource, sets.List(resourcePaths)))
	}
	return append(errs, divisor(fs.Resource, fs.Divisor, path)...)
}

func hugePages(r string) bool {
	for _, p := range resourcePrefixes {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return false
}

// divisor is validateContainerResourceDivisor: the canonical form of
// the divisor must be one of the resource's units.
func divisor(rName, d string, path *field.Path) field.ErrorList {
	if d == "" {
		return nil
	}
	q, err := resource.ParseQuantity(d)
	if err != nil || q.IsZero() {
		return nil // the schema reports a bad quantity; zero is unset
	}
	var ok bool
	var what string
	switch rName {
	case "limits.cpu", "requests.cpu":
		ok, what = cpuDivisors.Has(q.String()), "only divisor's values 1m and 1 are supported with the cpu resource"
	case "limits.memory", "requests.memory":
		ok, what = byteDivisors.Has(q.String()), "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		ok, what = byteDivisors.Has(q.String()), "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource"
	default:
		if hugePages(rName) {
			ok, what = byteDivisors.Has(q.String()), "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource"
		} else {
			ok = true
		}
	}
	if ok {
		return nil
	}
	return field.ErrorList{field.Invalid(path.Child("divisor"), rName, what)}
}

// downwardVolumes is the part of ValidateVolumes for downwardAPI and
// projected volumes (validateDownwardAPIVolumeSource,
// validateProjectedVolumeSource); as upstream does, a file's errors are
// reported on its source, not on its index.
func downwardVolumes(vols []api.Volume, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range vols {
		p := path.Index(i)
		if d := vols[i].DownwardAPI; d != nil {
			for j := range d.Items {
				errs = append(errs, downwardFile(&d.Items[j], p.Child("downwardAPI"))...)
			}
		}
		if pr := vols[i].Projected; pr != nil {
			errs = append(errs, projectionSources(pr, p.Child("projected"))...)
		}
	}
	return errs
}

// downwardFile is validateDownwardAPIVolumeFile (its path and mode are
// the schema's).
func downwardFile(f *api.DownwardAPIVolumeFile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case f.FieldRef != nil:
		errs = append(errs, objectFieldSelector(f.FieldRef, volumeFieldPaths, path.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, resourceFieldSelector(f.ResourceFieldRef, path.Child("resourceFieldRef"), true)...)
	default:
		errs = append(errs, field.Required(path, "one of fieldRef and resourceFieldRef is required"))
	}
	return errs
}

// projectionSources is validateProjectionSources: each source's files,
// and no path written by two of them.
func projectionSources(pr *api.ProjectedVolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	claim := func(p, value string) {
		if p == "" {
			return
		}
		if paths.Has(p) {
			errs = append(errs, field.Invalid(path, value, "conflicting duplicate paths"))
			return
		}
		paths.Insert(p)
	}
	for i, src := range pr.Sources {
		sp := path.Child("sources").Index(i)
		n := 0
		if src.Secret != nil {
			n++
			for _, it := range src.Secret.Items {
				claim(it.Path, src.Secret.Name)
			}
		}
		if src.ConfigMap != nil {
			n++
			for _, it := range src.ConfigMap.Items {
				claim(it.Path, src.ConfigMap.Name)
			}
		}
		if src.DownwardAPI != nil {
			n++
			for j := range src.DownwardAPI.Items {
				f := &src.DownwardAPI.Items[j]
				errs = append(errs, downwardFile(f, sp.Child("downwardAPI"))...)
				claim(f.Path, f.Path)
			}
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}
