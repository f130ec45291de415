package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"tekbot/config"
	"tekbot/handlers"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// object is one rendered manifest: the YAML that `kubectl apply -k` would
// send, and the typed object client-go decodes it into.
type object struct {
	yaml []byte
	obj  runtime.Object
}

// key names an object the way error messages and the expected-objects list
// do: "Kind namespace/name", or "Kind name" when cluster-scoped.
func (o object) key() string {
	m, err := meta.Accessor(o.obj)
	if err != nil {
		return fmt.Sprintf("%T", o.obj)
	}
	kind := o.obj.GetObjectKind().GroupVersionKind().Kind
	if m.GetNamespace() == "" {
		return kind + " " + m.GetName()
	}
	return kind + " " + m.GetNamespace() + "/" + m.GetName()
}

// renderObjects builds the kustomization with kustomize's own API (what
// `kubectl apply -k` embeds), in kustomize's output order, and decodes each
// object with client-go's scheme: a field of the wrong type, or a kind
// client-go does not know, fails here.
func renderObjects() ([]object, error) {
	opts := krusty.MakeDefaultOptions()
	// As the kustomize and kubectl command lines leave it: the order is
	// kustomization.yaml's sortOptions.
	opts.Reorder = krusty.ReorderOptionUnspecified
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	var objs []object
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(y, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", r.CurId(), err)
		}
		objs = append(objs, object{yaml: y, obj: obj})
	}
	return objs, nil
}

func render(t *testing.T) []object {
	t.Helper()
	objs, err := renderObjects()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// all returns the rendered objects of one type, in rendering order.
func all[T runtime.Object](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// one returns the only rendered object of one type.
func one[T runtime.Object](t *testing.T, objs []object) T {
	t.Helper()
	found := all[T](objs)
	if len(found) != 1 {
		var zero T
		t.Fatalf("rendering has %d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

// readme is this folder's README.md, the install instructions.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	createSecretRE = regexp.MustCompile(`create secret generic ([a-z0-9-]+)([^\n]*)`)
	fromFileRE     = regexp.MustCompile(`--from-file=([A-Za-z0-9._-]+)=`)
)

// readmeSection returns a section of README.md: from its "## title" line
// up to the next "## ".
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	text := readme(t)
	start := strings.Index(text, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", title)
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	return text
}

// credentialsSection is the install step that creates the Secrets every
// install needs.
const credentialsSection = "4. The credentials Secret"

// readmeSecrets maps each Secret that a README.md section tells the
// installer to create (`kubectl create secret generic NAME
// --from-file=KEY=…`) to its keys.
func readmeSecrets(t *testing.T, section string) map[string][]string {
	t.Helper()
	text := strings.ReplaceAll(readmeSection(t, section), "\\\n", " ") // join continued lines
	secrets := map[string][]string{}
	for _, m := range createSecretRE.FindAllStringSubmatch(text, -1) {
		for _, f := range fromFileRE.FindAllStringSubmatch(m[2], -1) {
			secrets[m[1]] = append(secrets[m[1]], f[1])
		}
	}
	if len(secrets) == 0 {
		t.Fatalf("README.md section %q creates no Secret with --from-file", section)
	}
	return secrets
}

// secretMount returns where the Deployment mounts the Secret volume of that
// Secret: the folder whose files tekbot.yaml names.
func secretMount(t *testing.T, pod *corev1.PodSpec, secret string) string {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.Secret == nil || v.Secret.SecretName != secret {
			continue
		}
		for _, m := range pod.Containers[0].VolumeMounts {
			if m.Name == v.Name {
				return m.MountPath
			}
		}
	}
	t.Fatalf("the Deployment does not mount Secret %s", secret)
	return ""
}

func podSpec(t *testing.T, objs []object) *corev1.PodSpec {
	t.Helper()
	return &one[*appsv1.Deployment](t, objs).Spec.Template.Spec
}

// configFile is the tekbot.yaml that the rendered ConfigMap holds, with the
// folder of the mounted credentials Secret.
type configFile struct {
	data       []byte
	secretsDir string
}

func shippedConfig(t *testing.T, objs []object) configFile {
	t.Helper()
	cm := one[*corev1.ConfigMap](t, objs)
	data, ok := cm.Data["tekbot.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no tekbot.yaml", cm.Name)
	}
	return configFile{data: []byte(data), secretsDir: secretMount(t, podSpec(t, objs), "tekbot-credentials")}
}

// parseConfig runs tekbot's own validation on a config file written for the
// pod. Validation reads every secret file, and the pod's files do not exist
// here: so the credentials README.md tells the installer to create are
// written into a temporary folder, and the file's mount path is rewritten to
// it. A config that names a secret the installer is not told to create, or
// a path outside the mounted Secret, then fails as it would in the pod.
// extra maps more paths (e.g. a kubeconfig mount) to local folders.
func parseConfig(t *testing.T, f configFile, extra map[string]string) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	for _, key := range readmeSecrets(t, credentialsSection)["tekbot-credentials"] {
		if err := os.WriteFile(filepath.Join(dir, key), []byte("test-"+key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// extra first: its paths may lie inside the credentials folder.
	text := string(f.data)
	for from, to := range extra {
		text = strings.ReplaceAll(text, from, to)
	}
	text = strings.ReplaceAll(text, f.secretsDir+"/", dir+"/")
	// The verbs policy.allow may name, as `tekbot config check` knows them.
	verbs := handlers.NewRegistry(&handlers.Deps{}).Verbs()
	return config.Parse([]byte(text), path.Join(dir, "tekbot.yaml"), config.KnownVerbs(verbs...))
}

// readmeBlock returns the first fenced block of a language in a README.md
// section.
func readmeBlock(t *testing.T, section, lang string) string {
	t.Helper()
	text := readmeSection(t, section)
	open := "```" + lang + "\n"
	i := strings.Index(text, open)
	if i < 0 {
		t.Fatalf("README.md section %q has no %s block", section, lang)
	}
	block := text[i+len(open):]
	return block[:strings.Index(block, "```")]
}
