package deploy

import (
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// containerPort resolves a probe's or Service's port (a name or a number)
// to a port the container declares; 0 when it declares none such.
func containerPort(c *corev1.Container, p intstr.IntOrString) int32 {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort
		}
	}
	return 0
}

// selects reports whether a label selector picks the Deployment's pods.
func selects(t *testing.T, sel *metav1.LabelSelector, pod map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(pod))
}

// effective is what the kubelet applies: the container's setting, else the
// pod's.
func effective[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}

func TestRendering(t *testing.T) {
	t.Parallel()
	objs := render(t)
	dep := one[*appsv1.Deployment](t, objs)
	pod := &dep.Spec.Template.Spec
	podLabels := dep.Spec.Template.Labels
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	ctr := &pod.Containers[0]

	checks := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"exactly the expected objects", func(t *testing.T) {
			// A new object (above all a ClusterRoleBinding, which would
			// make a grant cluster-wide) must be a deliberate change here.
			want := []string{
				"Namespace tekbot",
				"Namespace tekbot-state",
				"ServiceAccount tekbot/tekbot",
				"Role tekbot-state/tekbot-state",
				"ClusterRole tekbot-pipelineruns",
				"RoleBinding tekbot-state/tekbot-state",
				"RoleBinding tekton-ci/tekbot-pipelineruns",
				"ConfigMap tekbot/tekbot-config-*",
				"Service tekbot/tekbot",
				"Deployment tekbot/tekbot",
				"PodDisruptionBudget tekbot/tekbot",
				"NetworkPolicy tekbot/tekbot",
			}
			var got []string
			for _, o := range objs {
				k := o.key()
				if strings.HasPrefix(k, "ConfigMap tekbot/tekbot-config-") {
					k = "ConfigMap tekbot/tekbot-config-*" // the generator's content hash
				}
				got = append(got, k)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("rendered objects:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		}},
		{"two replicas of the serve command", func(t *testing.T) {
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
				t.Errorf("replicas = %v, want 2", dep.Spec.Replicas)
			}
			if want := []string{"serve", "-f", "/etc/tekbot/tekbot.yaml"}; !slices.Equal(ctr.Args, want) {
				t.Errorf("args = %q, want %q", ctr.Args, want)
			}
			if ctr.Image == "" {
				t.Error("no image")
			}
		}},
		{"probes hit /healthz and /readyz on a declared port", func(t *testing.T) {
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{
				{"liveness", ctr.LivenessProbe, "/healthz"},
				{"readiness", ctr.ReadinessProbe, "/readyz"},
			} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s probe: not an HTTP GET", p.name)
					continue
				}
				if p.probe.HTTPGet.Path != p.path {
					t.Errorf("%s probe path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
				}
				if containerPort(ctr, p.probe.HTTPGet.Port) == 0 {
					t.Errorf("%s probe port %s is not a port the container declares", p.name, p.probe.HTTPGet.Port.String())
				}
			}
		}},
		{"restricted security context", func(t *testing.T) {
			psc, csc := pod.SecurityContext, ctr.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			if csc == nil {
				csc = &corev1.SecurityContext{}
			}
			if v := effective(csc.RunAsNonRoot, psc.RunAsNonRoot); v == nil || !*v {
				t.Error("runAsNonRoot is not true")
			}
			if v := effective(csc.RunAsUser, psc.RunAsUser); v == nil || *v != 65532 {
				t.Errorf("runAsUser = %v, want 65532", v)
			}
			if v := csc.ReadOnlyRootFilesystem; v == nil || !*v {
				t.Error("readOnlyRootFilesystem is not true")
			}
			if v := csc.AllowPrivilegeEscalation; v == nil || *v {
				t.Error("allowPrivilegeEscalation is not false")
			}
			if c := csc.Capabilities; c == nil || !slices.Equal(c.Drop, []corev1.Capability{"ALL"}) || len(c.Add) > 0 {
				t.Errorf("capabilities = %+v, want drop [ALL] and nothing added", c)
			}
			if v := effective(csc.SeccompProfile, psc.SeccompProfile); v == nil || v.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("seccompProfile = %+v, want RuntimeDefault", v)
			}
		}},
		{"the API token is mounted, for the pod's ServiceAccount", func(t *testing.T) {
			if v := pod.AutomountServiceAccountToken; v == nil || !*v {
				t.Error("automountServiceAccountToken is not true: tekbot needs the API")
			}
			found := false
			for _, sa := range all[*corev1.ServiceAccount](objs) {
				found = found || (sa.Name == pod.ServiceAccountName && sa.Namespace == dep.Namespace)
			}
			if !found {
				t.Errorf("ServiceAccount %s/%s is not in the rendering", dep.Namespace, pod.ServiceAccountName)
			}
		}},
		{"POD_NAME from the downward API", func(t *testing.T) {
			i := slices.IndexFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "POD_NAME" })
			if i < 0 || ctr.Env[i].ValueFrom == nil || ctr.Env[i].ValueFrom.FieldRef == nil || ctr.Env[i].ValueFrom.FieldRef.FieldPath != "metadata.name" {
				t.Errorf("env = %+v, want POD_NAME from fieldRef metadata.name", ctr.Env)
			}
		}},
		{"requests and limits, requests within limits", func(t *testing.T) {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := ctr.Resources.Requests[r]
				lim, hasLim := ctr.Resources.Limits[r]
				if !hasReq || !hasLim {
					t.Errorf("%s: request %v, limit %v; want both", r, hasReq, hasLim)
					continue
				}
				if req.Cmp(lim) > 0 {
					t.Errorf("%s request %s exceeds the limit %s", r, req.String(), lim.String())
				}
			}
		}},
		{"every mount has a volume and every volume a mount", func(t *testing.T) {
			mounted := map[string]bool{}
			paths := map[string]bool{}
			for _, m := range ctr.VolumeMounts {
				if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
					t.Errorf("volumeMount %s has no volume", m.Name)
				}
				if paths[m.MountPath] {
					t.Errorf("two mounts at %s", m.MountPath)
				}
				mounted[m.Name], paths[m.MountPath] = true, true
				if !m.ReadOnly {
					t.Errorf("volumeMount %s is writable; tekbot writes no files", m.Name)
				}
			}
			for _, v := range pod.Volumes {
				if !mounted[v.Name] {
					t.Errorf("volume %s is never mounted", v.Name)
				}
			}
		}},
		{"every ConfigMap and Secret it needs exists", func(t *testing.T) {
			// A reference resolves if the rendering has the object, if
			// it is optional, or (Secrets) if README.md has every
			// installer create it: credentials are never shipped.
			have := map[string]bool{}
			for _, cm := range all[*corev1.ConfigMap](objs) {
				have["ConfigMap "+cm.Namespace+"/"+cm.Name] = true
			}
			for name := range readmeSecrets(t, credentialsSection) {
				have["Secret "+dep.Namespace+"/"+name] = true
			}
			type ref struct {
				kind, name string
				optional   *bool
			}
			var refs []ref
			for _, v := range pod.Volumes {
				switch {
				case v.ConfigMap != nil:
					refs = append(refs, ref{"ConfigMap", v.ConfigMap.Name, v.ConfigMap.Optional})
				case v.Secret != nil:
					refs = append(refs, ref{"Secret", v.Secret.SecretName, v.Secret.Optional})
				}
			}
			for _, e := range ctr.Env {
				switch {
				case e.ValueFrom == nil:
				case e.ValueFrom.ConfigMapKeyRef != nil:
					refs = append(refs, ref{"ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Optional})
				case e.ValueFrom.SecretKeyRef != nil:
					refs = append(refs, ref{"Secret", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Optional})
				}
			}
			if len(refs) == 0 {
				t.Fatal("no ConfigMap or Secret references found")
			}
			for _, r := range refs {
				if !have[r.kind+" "+dep.Namespace+"/"+r.name] && (r.optional == nil || !*r.optional) {
					t.Errorf("%s %s is neither rendered, created by README.md, nor optional", r.kind, r.name)
				}
			}
		}},
		{"the config file is in the mounted ConfigMap", func(t *testing.T) {
			cm := one[*corev1.ConfigMap](t, objs)
			file := ctr.Args[len(ctr.Args)-1]
			for _, m := range ctr.VolumeMounts {
				i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
				if i >= 0 && pod.Volumes[i].ConfigMap != nil && pod.Volumes[i].ConfigMap.Name == cm.Name && m.MountPath+"/tekbot.yaml" == file {
					return
				}
			}
			t.Errorf("%s is not key tekbot.yaml of ConfigMap %s mounted in its folder", file, cm.Name)
		}},
		{"Service, PodDisruptionBudget and spreading select the pods", func(t *testing.T) {
			if !selects(t, dep.Spec.Selector, podLabels) {
				t.Error("the Deployment's selector does not match its pod template")
			}
			svc := one[*corev1.Service](t, objs)
			if !selects(t, metav1.SetAsLabelSelector(svc.Spec.Selector), podLabels) || svc.Namespace != dep.Namespace {
				t.Errorf("Service %s/%s does not select the pods", svc.Namespace, svc.Name)
			}
			if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 80 || containerPort(ctr, svc.Spec.Ports[0].TargetPort) == 0 ||
				svc.Spec.Ports[1].Name != "metrics" || containerPort(ctr, svc.Spec.Ports[1].TargetPort) == 0 {
				t.Errorf("Service ports = %+v, want ClusterIP port 80 and metrics, each to a declared container port", svc.Spec.Ports)
			}
			pdb := one[*policyv1.PodDisruptionBudget](t, objs)
			if !selects(t, pdb.Spec.Selector, podLabels) || pdb.Namespace != dep.Namespace {
				t.Errorf("PodDisruptionBudget %s/%s does not select the pods", pdb.Namespace, pdb.Name)
			}
			if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
				t.Errorf("PodDisruptionBudget minAvailable = %v, want 1", pdb.Spec.MinAvailable)
			}
			spread := false
			for _, c := range pod.TopologySpreadConstraints {
				spread = spread || (c.TopologyKey == "kubernetes.io/hostname" && selects(t, c.LabelSelector, podLabels))
			}
			if !spread {
				t.Error("no topologySpreadConstraint spreads the pods across nodes")
			}
		}},
		{"RoleBindings bind rendered roles to the ServiceAccount", func(t *testing.T) {
			roles := map[string]bool{}
			for _, r := range all[*rbacv1.Role](objs) {
				roles["Role "+r.Namespace+"/"+r.Name] = true
			}
			for _, r := range all[*rbacv1.ClusterRole](objs) {
				roles["ClusterRole "+r.Name] = true
			}
			for _, rb := range all[*rbacv1.RoleBinding](objs) {
				ref := "ClusterRole " + rb.RoleRef.Name
				if rb.RoleRef.Kind == "Role" {
					ref = "Role " + rb.Namespace + "/" + rb.RoleRef.Name
				}
				if !roles[ref] {
					t.Errorf("RoleBinding %s/%s refers to %s, which is not rendered", rb.Namespace, rb.Name, ref)
				}
				want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: pod.ServiceAccountName, Namespace: dep.Namespace}}
				if !slices.Equal(rb.Subjects, want) {
					t.Errorf("RoleBinding %s/%s subjects = %+v, want only %+v", rb.Namespace, rb.Name, rb.Subjects, want)
				}
			}
		}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.check(t)
		})
	}
}

// TestNetworkPolicy: the pods take the http port from anywhere (webhooks,
// probes) and the metrics port from the monitoring namespace only, and send
// only DNS, HTTPS and apiserver traffic. The apiserver accepts the policy
// (install applies it); enforcing it is the network plugin's job.
func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	objs := render(t)
	dep := one[*appsv1.Deployment](t, objs)
	ctr := &dep.Spec.Template.Spec.Containers[0]
	np := one[*networkingv1.NetworkPolicy](t, objs)
	if np.Namespace != dep.Namespace || !selects(t, &np.Spec.PodSelector, dep.Spec.Template.Labels) {
		t.Fatalf("NetworkPolicy %s/%s does not select the pods", np.Namespace, np.Name)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes = %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}
	// port names what a rule's port is: a container port's name, or its
	// number and protocol.
	port := func(p networkingv1.NetworkPolicyPort) string {
		if p.Port == nil {
			return "all ports"
		}
		if p.Port.Type == intstr.String {
			if containerPort(ctr, *p.Port) == 0 {
				t.Errorf("port %q is not one the container declares", p.Port.StrVal)
			}
			return p.Port.StrVal
		}
		return p.Port.String() + "/" + string(*p.Protocol)
	}
	ingress := map[string]string{} // port → who may reach it
	for _, r := range np.Spec.Ingress {
		from := "anywhere"
		if len(r.From) > 0 {
			var peers []string
			for _, f := range r.From {
				switch {
				case f.NamespaceSelector != nil && f.PodSelector == nil && f.IPBlock == nil:
					peers = append(peers, "namespace "+f.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
				default:
					peers = append(peers, "something else")
				}
			}
			from = strings.Join(peers, ", ")
		}
		if len(r.Ports) == 0 {
			ingress["all ports"] = from
		}
		for _, p := range r.Ports {
			ingress[port(p)] = from
		}
	}
	if want := map[string]string{"http": "anywhere", "metrics": "namespace monitoring"}; !maps.Equal(ingress, want) {
		t.Errorf("ingress = %v, want %v", ingress, want)
	}
	var egress []string
	for _, r := range np.Spec.Egress {
		if len(r.To) > 0 {
			t.Errorf("an egress rule names peers %v; tekbot's peers (GitHub, Slack, other clusters) are anywhere", r.To)
		}
		if len(r.Ports) == 0 {
			egress = append(egress, "all ports")
		}
		for _, p := range r.Ports {
			egress = append(egress, port(p))
		}
	}
	slices.Sort(egress)
	if want := []string{"443/TCP", "53/TCP", "53/UDP", "6443/TCP"}; !slices.Equal(egress, want) {
		t.Errorf("egress ports = %v, want only DNS, HTTPS and the apiserver: %v", egress, want)
	}
}
