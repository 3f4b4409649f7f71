package check

import "testing"

const config = `apiVersion: v1
kind: ConfigMap
metadata: {name: config}
data: {LOG_LEVEL: info}
binaryData: {logo.png: aGk=}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: aGk=}
stringData: {user: admin}
---
`

// app renders a Pod after the ConfigMap and Secret above; its container
// section is container (indented by four spaces), its volumes volumes.
func app(container, volumes string) string {
	s := config + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: img:1\n    " + container + "\n"
	if volumes != "" {
		s += "  volumes:\n  " + volumes + "\n"
	}
	return s
}

func TestReferences(t *testing.T) {
	runCases(t, RuleMissingReference, []checkCase{
		{"env from existing keys", app("env: [{name: L, valueFrom: {configMapKeyRef: {name: config, key: LOG_LEVEL}}}, {name: U, valueFrom: {secretKeyRef: {name: creds, key: user}}}]", ""), nil},
		{"missing configmap", app("env: [{name: L, valueFrom: {configMapKeyRef: {name: cfg, key: LOG_LEVEL}}}]", ""),
			[]string{`test.yaml:20:57: error: spec.containers[0].env[0].valueFrom.configMapKeyRef.name: ConfigMap "cfg" does not exist in namespace default: add it to the repository, fix the name, or set optional: true`}},
		{"missing key", app("env: [{name: L, valueFrom: {configMapKeyRef: {name: config, key: LEVEL}}}]", ""),
			[]string{`test.yaml:20:70: error: spec.containers[0].env[0].valueFrom.configMapKeyRef.key: key "LEVEL" is not in ConfigMap "config" (it has LOG_LEVEL, logo.png): fix the key, add it to the ConfigMap, or set optional: true`}},
		{"optional", app("env: [{name: L, valueFrom: {configMapKeyRef: {name: cfg, key: X, optional: true}}}]", ""), nil},
		{"missing secret key", app("env: [{name: P, valueFrom: {secretKeyRef: {name: creds, key: token}}}]", ""),
			[]string{`test.yaml:20:66: error: spec.containers[0].env[0].valueFrom.secretKeyRef.key: key "token" is not in Secret "creds" (it has password, user): fix the key, add it to the Secret, or set optional: true`}},
		{"envFrom", app("envFrom: [{configMapRef: {name: config}}, {secretRef: {name: nope}}, {prefix: X_, configMapRef: {name: gone, optional: true}}]", ""),
			[]string{`test.yaml:20:66: error: spec.containers[0].envFrom[1].secretRef.name: Secret "nope" does not exist in namespace default: add it to the repository, fix the name, or set optional: true`}},
		{"configMap volume items", app("volumeMounts: [{name: c, mountPath: /etc/c}]", "- {name: c, configMap: {name: config, items: [{key: LOG_LEVEL, path: l}, {key: color, path: c}]}}"),
			[]string{`test.yaml:22:82: error: spec.volumes[0].configMap.items[1].key: key "color" is not in ConfigMap "config" (it has LOG_LEVEL, logo.png): fix the key, add it to the ConfigMap, or set optional: true`}},
		{"secret volume", app("volumeMounts: [{name: s, mountPath: /s}]", "- {name: s, secret: {secretName: tls}}"),
			[]string{`test.yaml:22:36: error: spec.volumes[0].secret.secretName: Secret "tls" does not exist in namespace default: add it to the repository, fix the name, or set optional: true`}},
		{"optional secret volume", app("volumeMounts: [{name: s, mountPath: /s}]", "- {name: s, secret: {secretName: tls, optional: true}}"), nil},
		{"claim", app("volumeMounts: [{name: d, mountPath: /d}]", "- {name: d, persistentVolumeClaim: {claimName: data}}"),
			[]string{`test.yaml:22:50: error: spec.volumes[0].persistentVolumeClaim.claimName: PersistentVolumeClaim "data" does not exist in namespace default: add it to the repository or fix claimName`}},
		{"imagePullSecrets", config + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: [{name: creds}, {name: registry}]\n  containers: [{name: app, image: img:1}]\n",
			[]string{`test.yaml:17:44: error: spec.imagePullSecrets[1].name: Secret "registry" does not exist in namespace default: add the kubernetes.io/dockerconfigjson Secret to the repository or fix the name`}},
		{"another namespace's configmap does not count", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n" + config + "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers: [{name: app, image: img:1, envFrom: [{configMapRef: {name: config}}]}]\n",
			[]string{`test.yaml:21:74: error: spec.containers[0].envFrom[0].configMapRef.name: ConfigMap "config" does not exist in namespace x: add it to the repository, fix the name, or set optional: true`}},
	})
}
