// Package localcluster runs a real Kubernetes control plane on loopback:
// etcd and kube-apiserver, built once from the Go module proxy into the
// user's cache, with Tekton's CRDs applied. `tekbot dev` runs its sandbox
// on it and tests reach it through test/kube (as controller-runtime's
// envtest serves its users), so that label selectors, status subresources,
// resourceVersion conflicts and AlreadyExists behave as in production.
// Everything it needs is embedded: a built binary works anywhere a go
// toolchain is on PATH (for the first build) or the binaries are cached.
package localcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/discovery"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is one running control plane.
type Cluster struct {
	Name string
	// Kubeconfig is the path of a kubeconfig file for this cluster, with
	// a context named after the cluster.
	Kubeconfig string
	REST       *rest.Config
	Kube       Kube
	Tekton     tektonclient.Interface

	dir      string
	temp     bool
	procs    []*proc
	stopOnce sync.Once
}

// proc is a component's process, and what closes when it has exited.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// Kube is what Start and `tekbot dev`'s sandbox use of Kubernetes' own
// API: core/v1 (Namespaces, ConfigMaps) and discovery's REST client
// (/readyz). It is not client-go's full clientset, which would link every
// API group's client into tekbot's binary (`tekbot dev` runs this
// package); tests that need more build the full clientset from REST, as
// test/kube does.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
	Discovery() discovery.DiscoveryInterface
}

// kubeClients are client-go's typed clients behind Kube.
type kubeClients struct {
	core      *corev1client.CoreV1Client
	discovery *discovery.DiscoveryClient
}

func newKube(rc *rest.Config) (Kube, error) {
	var k kubeClients
	var err error
	if k.core, err = corev1client.NewForConfig(rc); err != nil {
		return nil, err
	}
	if k.discovery, err = discovery.NewDiscoveryClientForConfig(rc); err != nil {
		return nil, err
	}
	return k, nil
}

func (k kubeClients) CoreV1() corev1client.CoreV1Interface { return k.core }

func (k kubeClients) Discovery() discovery.DiscoveryInterface { return k.discovery }

// Options configure Start.
type Options struct {
	// Name names the cluster and its kubeconfig context.
	Name string
	// DataDir keeps etcd's data and the certificates between starts (the
	// sandbox's state survives restarts); empty means a fresh temp dir,
	// removed on Stop.
	DataDir string
	// Log receives the components' output; nil discards it.
	Log io.Writer
	// Progress receives the control plane's build progress, the first
	// time the binaries are built; nil discards it.
	Progress io.Writer
}

// Start starts etcd and kube-apiserver on free loopback ports and applies
// Tekton's CRDs. It returns once the CRDs are established.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := BinDir(ctx, opts.Progress)
	if err != nil {
		return nil, err
	}
	// A port found free can be taken before a component binds it (by any
	// process's outgoing connection, on a busy machine); the component
	// then exits, and a start on other ports is all it takes.
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, opts, bin)
		if err == nil || !errors.Is(err, errExited) || attempt == startAttempts {
			return c, err
		}
	}
}

// startAttempts bounds the starts on fresh ports after a component exited.
const startAttempts = 3

// errExited says a component exited before the apiserver was ready.
var errExited = errors.New("exited before the apiserver was ready (run with a log writer to see why)")

func start(ctx context.Context, opts Options, bin string) (*Cluster, error) {
	var err error
	c := &Cluster{Name: opts.Name, dir: opts.DataDir}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "tekbot-kube-"+opts.Name+"-"); err != nil {
			return nil, err
		}
		c.temp = true
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}

	etcdPort, peerPort, apiPort, err := freePorts()
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := c.spawn(logw, filepath.Join(bin, "etcd"),
		"--name=default",
		"--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", "--log-level=error",
	); err != nil {
		return nil, err
	}

	token, err := c.writeCredentials()
	if err != nil {
		return nil, err
	}
	if err := c.spawn(logw, filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(c.dir, "certs"),
		"--token-auth-file="+filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(c.dir, "sa.key"),
		"--service-account-signing-key-file="+filepath.Join(c.dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		// Loopback only: there is no node to reconcile endpoints for.
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	); err != nil {
		return nil, err
	}

	c.REST = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(apiPort),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             500,
		Burst:           1000,
	}
	if c.Kube, err = newKube(c.REST); err != nil {
		return nil, err
	}
	if c.Tekton, err = tektonclient.NewForConfig(c.REST); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	if err := c.applyTektonCRDs(ctx); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfig(); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// freePorts asks the kernel for three free loopback ports.
func freePorts() (int, int, int, error) {
	var ports [3]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, 0, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], ports[2], nil
}

func (c *Cluster) spawn(logw io.Writer, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logw, logw
	// If the test binary or the sandbox dies, the kernel stops the
	// components too, so nothing outlives its owner.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	// Waited for at once, so an exit is seen (an unreaped child still
	// answers signals) and reaped.
	go func() { _ = cmd.Wait(); close(p.exited) }()
	c.procs = append(c.procs, p)
	return nil
}

// writeCredentials writes a system:masters token and a service-account
// signing key, reusing them when DataDir persists.
func (c *Cluster) writeCredentials() (string, error) {
	tokenFile := filepath.Join(c.dir, "tokens.csv")
	if b, err := os.ReadFile(tokenFile); err == nil {
		return strings.SplitN(string(b), ",", 2)[0], nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(c.dir, "sa.key"), pemKey, 0o600); err != nil {
		return "", err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	line := token + ",tekbot-admin,tekbot-admin-uid,system:masters\n"
	return token, os.WriteFile(tokenFile, []byte(line), 0o600)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last error
	for {
		body, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && bytes.Equal(bytes.TrimSpace(body), []byte("ok")) {
			return nil
		}
		last = err
		if exited := c.exitedProcess(); exited != "" {
			return fmt.Errorf("%s %w", exited, errExited)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready: %w", errors.Join(ctx.Err(), last))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) exitedProcess() string {
	for _, p := range c.procs {
		select {
		case <-p.exited:
			return filepath.Base(p.cmd.Path)
		default:
		}
	}
	return ""
}

func (c *Cluster) writeKubeconfig() error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[c.Name] = &clientcmdapi.Cluster{Server: c.REST.Host, InsecureSkipTLSVerify: true}
	kc.AuthInfos[c.Name] = &clientcmdapi.AuthInfo{Token: c.REST.BearerToken}
	kc.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: c.Name}
	kc.CurrentContext = c.Name
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	return clientcmd.WriteToFile(*kc, c.Kubeconfig)
}

// Stop stops the components and removes a temporary data dir.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		for i := len(c.procs) - 1; i >= 0; i-- {
			p := c.procs[i]
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		if c.temp {
			os.RemoveAll(c.dir)
		}
	})
}
