package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/config"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/kube"
)

// The namespaces of the rendering: tekbot's own (the bot, its config and
// credentials), its state's, and the example namespace of PipelineRuns.
// Each test package has its own apiservers, so the real names can be used.
const (
	nsBot   = "tekbot"
	nsState = "tekbot-state"
	nsCI    = "tekton-ci"
	// leaseName is the Lease tekbot's leader election holds.
	leaseName = "tekbot-leader"
)

// tekbotUser is how the apiserver sees tekbot's ServiceAccount token: the
// user and the groups every ServiceAccount token carries.
var tekbotUser = authorizationv1.SubjectAccessReviewSpec{
	User:   "system:serviceaccount:" + nsBot + ":tekbot",
	Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + nsBot, "system:authenticated"},
}

// warnings collects the warnings an apiserver sends with its answers (Pod
// Security, deprecations).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// apply sends each YAML document in order as `kubectl apply --server-side`
// does, with strict field validation so that a misspelt field is an error
// rather than silently dropped, and returns the apiserver's warnings.
func apply(ctx context.Context, cfg *rest.Config, docs [][]byte, dryRun bool) ([]string, error) {
	w := &warnings{}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for _, doc := range docs {
		body, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(body); err != nil {
			return nil, err
		}
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
		}
		opts := metav1.PatchOptions{FieldManager: "tekbot-deploy-test", Force: ptr.To(true), FieldValidation: "Strict"}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts); err != nil {
			return nil, fmt.Errorf("applying %s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.list, nil
}

// createNamespace makes Tekton's namespace, which exists before tekbot is
// installed (the RoleBinding goes into it).
func createNamespace(ctx context.Context, c *kube.Cluster, name string) error {
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// access is one question to the authorizer: a verb on a resource, or on a
// non-resource URL (path).
type access struct {
	verb, group, resource, subresource, name, namespace string
	path                                                string
}

func (a access) String() string {
	if a.path != "" {
		return a.verb + " " + a.path
	}
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace == "" {
		return s + " (all namespaces)"
	}
	return s + " in " + a.namespace
}

// allowed asks the apiserver's authorizer (RBAC here) whether tekbot's
// ServiceAccount may do a.
func allowed(ctx context.Context, kc kubernetes.Interface, a access) (bool, error) {
	spec := *tekbotUser.DeepCopy()
	if a.path != "" {
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Verb: a.verb, Path: a.path}
	} else {
		spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
			Namespace: a.namespace, Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Name: a.name,
		}
	}
	r, err := kc.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return r.Status.Allowed, nil
}

// waitAllowed waits until the authorizer allows every access: it reads
// RBAC objects from an informer cache, a moment behind the writes.
func waitAllowed(ctx context.Context, kc kubernetes.Interface, as ...access) error {
	for _, a := range as {
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			return allowed(ctx, kc, a)
		})
		if err != nil {
			return fmt.Errorf("RBAC never allowed %s: %w", a, err)
		}
	}
	return nil
}

// installation is the rendering applied to the "nightly" apiserver, once
// for the package's tests.
var installation struct {
	sync.Once
	warnings []string
	err      error
}

// install applies the whole rendering to the package's nightly apiserver, as
// `kubectl apply --server-side -k config/deploy` does, and waits until its
// RBAC is in force. It returns the apiserver's warnings. The Deployment
// runs no pods (there is no kubelet): what is tested is what the apiserver
// accepts, and what it lets tekbot's ServiceAccount do.
func install(t *testing.T) (*kube.Cluster, []string) {
	t.Helper()
	c := kube.Shared(t, "nightly")
	installation.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		objs, err := renderObjects()
		if err != nil {
			installation.err = err
			return
		}
		if err := createNamespace(ctx, c, nsCI); err != nil {
			installation.err = err
			return
		}
		var docs [][]byte
		for _, o := range objs {
			docs = append(docs, o.yaml)
		}
		if installation.warnings, err = apply(ctx, c.REST, docs, false); err != nil {
			installation.err = err
			return
		}
		installation.err = waitAllowed(ctx, c.Kube,
			access{verb: "create", resource: "configmaps", namespace: nsState},
			access{verb: "create", group: "tekton.dev", resource: "pipelineruns", namespace: nsCI})
	})
	if installation.err != nil {
		t.Fatalf("installing on %s: %v", c, installation.err)
	}
	return c, installation.warnings
}

func TestPodSecurity(t *testing.T) {
	t.Parallel()
	c, warned := install(t)
	if len(warned) > 0 {
		t.Errorf("the apiserver warned while applying the rendering:\n  %s", strings.Join(warned, "\n  "))
	}
	// The namespace enforces the restricted Pod Security Standard, and the
	// apiserver checks Deployments against it (as warnings). Weakened
	// copies show that the check is live, and would catch a regression.
	dep := one[*appsv1.Deployment](t, render(t))
	for _, tc := range []struct {
		name   string
		weaken func(pod *corev1.PodSpec)
		want   string // in a warning; "" for none
	}{
		{"as shipped", func(*corev1.PodSpec) {}, ""},
		{"privilege escalation allowed", func(p *corev1.PodSpec) {
			p.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, "allowPrivilegeEscalation"},
		{"runs as root", func(p *corev1.PodSpec) {
			p.SecurityContext.RunAsNonRoot, p.SecurityContext.RunAsUser = ptr.To(false), ptr.To[int64](0)
		}, "runAsNonRoot"},
		{"no seccomp profile", func(p *corev1.PodSpec) { p.SecurityContext.SeccompProfile = nil }, "seccompProfile"},
		{"capabilities kept", func(p *corev1.PodSpec) { p.Containers[0].SecurityContext.Capabilities = nil }, "capabilities"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := dep.DeepCopy()
			d.APIVersion, d.Kind = "apps/v1", "Deployment"
			tc.weaken(&d.Spec.Template.Spec)
			doc, err := yaml.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := apply(context.Background(), c.REST, [][]byte{doc}, true)
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(got, "\n")
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("warnings: %s", joined)
			case tc.want != "" && !(strings.Contains(joined, "restricted") && strings.Contains(joined, tc.want)):
				t.Errorf("warnings %q do not name the restricted policy and %s", got, tc.want)
			}
		})
	}
}

func TestRBAC(t *testing.T) {
	t.Parallel()
	c, _ := install(t)
	pr := func(verb, ns string) access {
		return access{verb: verb, group: "tekton.dev", resource: "pipelineruns", namespace: ns}
	}
	core := func(verb, resource, ns string) access { return access{verb: verb, resource: resource, namespace: ns} }
	lease := func(verb, name, ns string) access {
		return access{verb: verb, group: "coordination.k8s.io", resource: "leases", name: name, namespace: ns}
	}
	for _, tc := range []struct {
		access
		allowed bool
	}{
		// PipelineRuns: find, rerun (create), cancel and start (patch).
		{pr("get", nsCI), true},
		{pr("list", nsCI), true},
		{pr("watch", nsCI), true},
		{pr("create", nsCI), true},
		{pr("patch", nsCI), true},
		// Never rewrite or remove a run, nor touch its status.
		{pr("update", nsCI), false},
		{pr("delete", nsCI), false},
		{pr("deletecollection", nsCI), false},
		{access{verb: "patch", group: "tekton.dev", resource: "pipelineruns", subresource: "status", namespace: nsCI}, false},
		// Only in namespaces with a RoleBinding.
		{pr("get", nsBot), false},
		{pr("create", "default"), false},
		{pr("list", ""), false},
		// Nothing else of Tekton's.
		{access{verb: "get", group: "tekton.dev", resource: "taskruns", namespace: nsCI}, false},
		{access{verb: "create", group: "tekton.dev", resource: "pipelines", namespace: nsCI}, false},
		// State: claims and rotation changes are ConfigMaps in the
		// state namespace.
		{core("get", "configmaps", nsState), true},
		{core("list", "configmaps", nsState), true},
		{core("create", "configmaps", nsState), true},
		{core("update", "configmaps", nsState), true},
		{core("delete", "configmaps", nsState), true},
		{core("watch", "configmaps", nsState), false},
		{access{verb: "watch", resource: "configmaps", name: "tekbot-role-changes", namespace: nsState}, true},
		{core("get", "configmaps", nsCI), false},
		{core("list", "configmaps", ""), false},
		// tekbot cannot rewrite its own config: the ConfigMap it is
		// mounted from, and its credentials, are in a namespace where
		// it may do nothing at all.
		{core("get", "configmaps", nsBot), false},
		{core("list", "configmaps", nsBot), false},
		{core("create", "configmaps", nsBot), false},
		{core("update", "configmaps", nsBot), false},
		{core("patch", "configmaps", nsBot), false},
		{core("delete", "configmaps", nsBot), false},
		{access{verb: "update", resource: "configmaps", name: "tekbot-config", namespace: nsBot}, false},
		{core("update", "secrets", nsBot), false},
		{core("patch", "secrets", nsBot), false},
		{core("create", "secrets", nsBot), false},
		{access{verb: "patch", group: "apps", resource: "deployments", name: "tekbot", namespace: nsBot}, false},
		{core("create", "configmaps", "kube-system"), false},
		// Leader election: create the Lease, then only that one.
		{lease("create", "", nsState), true},
		{lease("get", leaseName, nsState), true},
		{lease("update", leaseName, nsState), true},
		{lease("get", "another-lease", nsState), false},
		{lease("create", "", nsBot), false},
		{lease("update", "kube-controller-manager", "kube-system"), false},
		{lease("delete", leaseName, nsState), false},
		{lease("delete", "", ""), false},
		// Audit Events: written in the state namespace and on each
		// PipelineRun touched, read back by `tekbot audit`. Written
		// once under a derived name, so never patched.
		{core("create", "events", nsState), true},
		{core("list", "events", nsState), true},
		{core("create", "events", nsCI), true},
		{core("list", "events", nsCI), false},
		{core("patch", "events", nsState), false},
		{core("delete", "events", nsState), false},
		{core("create", "events", nsBot), false},
		{core("create", "events", "default"), false},
		{access{verb: "create", group: "events.k8s.io", resource: "events", namespace: nsState}, false},
		// Secrets are mounted, never read through the API.
		{core("get", "secrets", nsBot), false},
		{core("get", "secrets", nsState), false},
		{core("list", "secrets", nsBot), false},
		{core("get", "secrets", nsCI), false},
		{core("list", "secrets", nsCI), false},
		{core("watch", "secrets", ""), false},
		// No workloads, no cluster-wide reads, no way to more rights.
		{core("create", "pods", nsCI), false},
		{core("create", "pods", nsBot), false},
		{core("list", "namespaces", ""), false},
		{access{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: nsBot}, false},
		{access{verb: "create", resource: "serviceaccounts", subresource: "token", name: "tekbot", namespace: nsBot}, false},
		// /readyz asks each cluster's apiserver if it is ready.
		{access{verb: "get", path: "/readyz"}, true},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			t.Parallel()
			got, err := allowed(context.Background(), c.Kube, tc.access)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.allowed {
				t.Errorf("%s: allowed = %v, want %v", tc.access, got, tc.allowed)
			}
		})
	}
}

// serviceAccountConfig returns a client config that authenticates as
// tekbot's ServiceAccount with a token from the TokenRequest API: the
// kubelet mounts such a token in tekbot's pods, and `kubectl create token`
// asks for one the same way.
func serviceAccountConfig(ctx context.Context, t *testing.T, c *kube.Cluster) *rest.Config {
	t.Helper()
	tr, err := c.Kube.CoreV1().ServiceAccounts(nsBot).CreateToken(ctx, "tekbot", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for tekbot: %v", err)
	}
	cfg := rest.AnonymousClientConfig(c.REST)
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// exercisePipelineRuns does to a PipelineRun in ns what tekbot's commands
// do, with tekbot's own code and identity (cl), and checks that deleting is
// refused. admin creates the run and reads the outcome.
func exercisePipelineRuns(ctx context.Context, t *testing.T, admin *kube.Cluster, cl *tekton.Cluster, ns string) {
	t.Helper()
	id := strings.ToLower(rand.Text())
	orig, err := admin.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pipeline-unit-tests-", Labels: map[string]string{"tekbot.test/case": id}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "unit-tests"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := cl.List(ctx, ns, "tekbot.test/case="+id)
	if err != nil || len(runs) != 1 {
		t.Fatalf("list: %d runs, %v; want the one created", len(runs), err)
	}
	got, err := cl.Get(ctx, ns, orig.Name)
	if err != nil {
		t.Fatal(err)
	}
	rerun, created, err := cl.Rerun(ctx, got, tekton.Requester{Name: "deploy-test", RequestID: id})
	if err != nil || !created {
		t.Fatalf("rerun: created %v, %v", created, err)
	}
	if err := cl.Cancel(ctx, rerun); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	after, err := admin.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, rerun.Name, metav1.GetOptions{})
	if err != nil || after.Spec.Status != pipelinev1.PipelineRunSpecStatusCancelled {
		t.Errorf("rerun after cancel: %v, %v; want spec.status %s", after.Spec.Status, err, pipelinev1.PipelineRunSpecStatusCancelled)
	}
	if err := cl.Tekton.TektonV1().PipelineRuns(ns).Delete(ctx, orig.Name, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete as tekbot: %v, want Forbidden", err)
	}
}

// TestServiceAccountDoesItsJob runs tekbot's own state and Tekton code as
// its ServiceAccount, with a real token: what the SubjectAccessReviews say,
// the code paths confirm.
func TestServiceAccountDoesItsJob(t *testing.T) {
	t.Parallel()
	c, _ := install(t)
	ctx := context.Background()
	cfg := serviceAccountConfig(ctx, t, c)
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("claims", func(t *testing.T) {
		t.Parallel()
		claims := &state.Claims{ConfigMaps: state.ConfigMapsIn(kc, nsState)}
		key := "deploy-test/" + rand.Text()
		for _, step := range []struct {
			name string
			do   func() (bool, error)
			want bool
		}{
			{"claim", func() (bool, error) { return claims.Claim(ctx, key) }, true},
			{"claim again", func() (bool, error) { return claims.Claim(ctx, key) }, false},
			{"release, claim", func() (bool, error) {
				if err := claims.Release(ctx, key); err != nil {
					return false, err
				}
				return claims.Claim(ctx, key)
			}, true},
			{"expire, claim", func() (bool, error) {
				// Two hours from now, the claim is older than an hour.
				if n, err := claims.Expire(ctx, func(string) time.Duration { return time.Hour }, time.Now().Add(2*time.Hour)); err != nil || n == 0 {
					return false, fmt.Errorf("expired %d claims: %v", n, err)
				}
				return claims.Claim(ctx, key)
			}, true},
		} {
			got, err := step.do()
			if err != nil || got != step.want {
				t.Fatalf("%s: %v, %v; want %v", step.name, got, err, step.want)
			}
		}
		if err := claims.Release(ctx, key); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("leader election", func(t *testing.T) {
		t.Parallel()
		const identity = "tekbot-deploy-test"
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		l := &state.Leader{Kube: kc, Namespace: nsState, Lease: leaseName, Identity: identity, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		leading, done := make(chan struct{}), make(chan struct{})
		var once sync.Once
		go func() {
			defer close(done)
			l.Run(runCtx, func(ctx context.Context) {
				once.Do(func() { close(leading) })
				<-ctx.Done()
			})
		}()
		select {
		case <-leading:
		case <-time.After(30 * time.Second):
			t.Fatal("never became leader: is the Lease creatable and renewable?")
		}
		lease, err := c.Kube.CoordinationV1().Leases(nsState).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil || ptr.Deref(lease.Spec.HolderIdentity, "") != identity {
			t.Fatalf("lease while leading: %v; want held by %s", holder(lease, err), identity)
		}
		// Stopping releases the Lease (an update), so the other replica
		// takes over at once instead of after the lease expires.
		stop()
		<-done
		lease, err = c.Kube.CoordinationV1().Leases(nsState).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil || ptr.Deref(lease.Spec.HolderIdentity, "") != "" {
			t.Errorf("lease after stopping: %v; want released", holder(lease, err))
		}
	})

	t.Run("pipelineruns", func(t *testing.T) {
		t.Parallel()
		cl, err := tekton.NewCluster(config.Cluster{Name: "nightly", Role: config.RoleNightly, Namespace: nsCI}, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		exercisePipelineRuns(ctx, t, c, cl, nsCI)
		if _, err := cl.List(ctx, nsBot, ""); !apierrors.IsForbidden(err) {
			t.Errorf("listing PipelineRuns in %s: %v, want Forbidden", nsBot, err)
		}
	})

	t.Run("audit events", func(t *testing.T) {
		t.Parallel()
		// tekbot's auditor writes one Event in its namespace and one on
		// the PipelineRun a command touched; `tekbot audit` reads them.
		auditor := &audit.EventAuditor{
			State: audit.EventsIn(kc), Namespace: nsState, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Clusters: func(name string) audit.Events {
				if name == "nightly" {
					return audit.EventsIn(kc)
				}
				return nil
			},
		}
		id := rand.Text()
		run := "pipeline-unit-tests-" + strings.ToLower(id[:8])
		auditor.Record(ctx, bot.Record{
			Time: time.Now().UTC(), RequestID: id, Transport: bot.Slack, CallerID: "U01ANDREA", Person: "andrea",
			Verb: "rerun", Args: []string{run}, Targets: []string{"nightly/" + nsCI + "/" + run}, Outcome: bot.Done,
		})
		records, err := audit.LastRecords(ctx, audit.EventsIn(kc), nsState, 1000)
		if err != nil {
			t.Fatalf("tekbot audit, as tekbot: %v", err)
		}
		if !slices.ContainsFunc(records, func(r bot.Record) bool { return r.RequestID == id }) {
			t.Errorf("the record of request %s is not in the state namespace", id)
		}
		// Events on a run are read by people (kubectl describe), not by
		// tekbot: the admin looks.
		evs, err := c.Kube.CoreV1().Events(nsCI).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + run})
		if err != nil || len(evs.Items) != 1 {
			t.Errorf("events on PipelineRun %s: %d, %v; want the audit event", run, len(evs.Items), err)
		}
	})

	t.Run("readyz", func(t *testing.T) {
		t.Parallel()
		// What tekbot's own /readyz asks each cluster.
		body, err := kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil || strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("/readyz as tekbot: %q, %v", body, err)
		}
	})

	t.Run("no secrets", func(t *testing.T) {
		t.Parallel()
		for _, ns := range []string{nsBot, nsState, nsCI} {
			if _, err := kc.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("listing Secrets in %s: %v, want Forbidden", ns, err)
			}
		}
	})

	t.Run("cannot rewrite its own config", func(t *testing.T) {
		t.Parallel()
		// The ConfigMap the pods mount, as applied: tekbot's own client
		// can neither change it, delete it, nor put another beside it.
		name := one[*corev1.ConfigMap](t, render(t)).Name
		cm, err := c.Kube.CoreV1().ConfigMaps(nsBot).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the applied config %s: %v", name, err)
		}
		forged := cm.DeepCopy()
		forged.Data["tekbot.yaml"] += "\npolicy:\n  allow:\n    promote: [everyone]\n"
		cms := kc.CoreV1().ConfigMaps(nsBot)
		for _, step := range []struct {
			what string
			do   func() error
		}{
			{"update", func() error { _, err := cms.Update(ctx, forged, metav1.UpdateOptions{}); return err }},
			{"patch", func() error {
				_, err := cms.Patch(ctx, name, types.MergePatchType, []byte(`{"data":{"tekbot.yaml":"clusters: []"}}`), metav1.PatchOptions{})
				return err
			}},
			{"delete", func() error { return cms.Delete(ctx, name, metav1.DeleteOptions{}) }},
			{"create beside it", func() error {
				_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tekbot-config-forged"}, Data: forged.Data}, metav1.CreateOptions{})
				return err
			}},
		} {
			if err := step.do(); !apierrors.IsForbidden(err) {
				t.Errorf("%s %s as tekbot: %v, want Forbidden", step.what, name, err)
			}
		}
		after, err := c.Kube.CoreV1().ConfigMaps(nsBot).Get(ctx, name, metav1.GetOptions{})
		if err != nil || after.ResourceVersion != cm.ResourceVersion {
			t.Errorf("config %s after tekbot's attempts: %v; want it unchanged", name, err)
		}
	})
}

// holder describes who holds a Lease, for failure messages.
func holder(lease *coordinationv1.Lease, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("held by %q", ptr.Deref(lease.Spec.HolderIdentity, ""))
}

var applyFileRE = regexp.MustCompile(`-f config/deploy/([a-z0-9-]+\.yaml)`)

const moreClusters = "More clusters"

// TestAnotherCluster follows README.md's "More clusters" on a second
// apiserver: apply the files it names, mint a token, write a kubeconfig with
// it, add the cluster as its YAML block says, and run tekbot's Tekton code
// through that config.
func TestAnotherCluster(t *testing.T) {
	t.Parallel()
	other := kube.Shared(t, "dogfooding")
	ctx := context.Background()
	if err := createNamespace(ctx, other, nsCI); err != nil {
		t.Fatal(err)
	}

	var docs [][]byte
	for _, m := range applyFileRE.FindAllStringSubmatch(readmeSection(t, moreClusters), -1) {
		data, err := os.ReadFile(m[1])
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", m[1], err)
			}
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		t.Fatal(`README.md's "More clusters" applies no file`)
	}
	if _, err := apply(ctx, other.REST, docs, false); err != nil {
		t.Fatal(err)
	}
	if err := waitAllowed(ctx, other.Kube, access{verb: "create", group: "tekton.dev", resource: "pipelineruns", namespace: nsCI}); err != nil {
		t.Fatal(err)
	}

	// The kubeconfig README.md builds: one cluster, the token, a context.
	sa := serviceAccountConfig(ctx, t, other)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["dogfooding"] = &clientcmdapi.Cluster{Server: sa.Host, InsecureSkipTLSVerify: true}
	kc.AuthInfos["tekbot"] = &clientcmdapi.AuthInfo{Token: sa.BearerToken}
	kc.Contexts["dogfooding"] = &clientcmdapi.Context{Cluster: "dogfooding", AuthInfo: "tekbot"}
	kdir := t.TempDir()
	if err := clientcmd.WriteToFile(*kc, filepath.Join(kdir, "dogfooding")); err != nil {
		t.Fatal(err)
	}

	objs := render(t)
	mount := secretMount(t, podSpec(t, objs), "tekbot-kubeconfigs")
	block := configFile{data: []byte(readmeBlock(t, moreClusters, "yaml")), secretsDir: shippedConfig(t, objs).secretsDir}
	cfg, err := parseConfig(t, block, map[string]string{mount + "/": kdir + "/"})
	if err != nil {
		t.Fatalf("README.md's cluster block:\n%v", err)
	}
	clusters, err := tekton.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl := clusters.Get("dogfooding")
	if cl == nil {
		t.Fatalf("clusters %v, want dogfooding", clusters.Names())
	}
	// tekbot's clients have no authentication.k8s.io client: ask through
	// discovery's REST client, which carries the same credentials (and
	// only decodes, hence the JSON body).
	who := &authenticationv1.SelfSubjectReview{}
	err = cl.Kube.Discovery().RESTClient().Post().AbsPath("/apis/authentication.k8s.io/v1/selfsubjectreviews").
		SetHeader("Content-Type", "application/json").
		Body([]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)).Do(ctx).Into(who)
	if err != nil {
		t.Fatalf("who the kubeconfig authenticates as: %v", err)
	}
	if who.Status.UserInfo.Username != tekbotUser.User {
		t.Fatalf("the kubeconfig authenticates as %q, want %s", who.Status.UserInfo.Username, tekbotUser.User)
	}
	exercisePipelineRuns(ctx, t, other, cl, nsCI)
	if _, err := cl.List(ctx, "default", ""); !apierrors.IsForbidden(err) {
		t.Errorf("listing PipelineRuns in default: %v, want Forbidden", err)
	}
}
