package localcluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Kubelet is a stand-in kubelet on loopback, for the sandbox and tests
// that read pod logs through the real kube-apiserver, which has no node of
// its own: a Node whose status gives InternalIP 127.0.0.1 and the stand-in's
// port as its kubelet endpoint, and an HTTPS server answering the
// kubelet's /containerLogs/<namespace>/<pod>/<container>. A Pod bound to
// the Node by spec.nodeName then has logs: `kubectl logs` and client-go's
// pods/log read what SetLog gave, proxied by the apiserver.
//
// The apiserver does not check the stand-in's certificate: it checks a
// kubelet's only with --kubelet-certificate-authority, which localcluster
// does not set. test/kubelet is its adapter for tests.
type Kubelet struct {
	// Node is the name of its Node: bind pods with spec.nodeName.
	Node string
	srv  *httptest.Server

	mu   sync.Mutex
	logs map[string]string // namespace/pod/container
}

// StartKubelet serves on a free loopback port and registers Node node with the
// apiserver behind core. Close stops it.
func StartKubelet(ctx context.Context, core corev1client.CoreV1Interface, node string) (*Kubelet, error) {
	k := &Kubelet{Node: node, logs: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.containerLogs)
	k.srv = httptest.NewTLSServer(mux)
	port := k.srv.Listener.Addr().(*net.TCPAddr).Port
	n, err := core.Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A cluster kept on disk (the sandbox's) has it from last time:
		// point it at this port.
		n, err = core.Nodes().Get(ctx, node, metav1.GetOptions{})
	}
	if err != nil {
		k.srv.Close()
		return nil, fmt.Errorf("creating node %s: %w", node, err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}}
	if _, err := core.Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		k.srv.Close()
		return nil, fmt.Errorf("node %s status: %w", node, err)
	}
	return k, nil
}

// Close stops serving. The Node stays: the cluster is thrown away.
func (k *Kubelet) Close() { k.srv.Close() }

// SetLog makes log what a container has printed so far.
func (k *Kubelet) SetLog(namespace, pod, container, log string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.logs[namespace+"/"+pod+"/"+container] = log
}

// containerLogs answers as a kubelet does, honouring tailLines and
// limitBytes (which the apiserver passes on from pods/log); a container it
// holds no log of is not found.
func (k *Kubelet) containerLogs(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	log, ok := k.logs[r.PathValue("namespace")+"/"+r.PathValue("pod")+"/"+r.PathValue("container")]
	k.mu.Unlock()
	if !ok {
		http.Error(w, "container not found", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n >= 0 {
		lines := strings.SplitAfter(log, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		log = strings.Join(lines[max(0, len(lines)-n):], "")
	}
	if n, err := strconv.Atoi(q.Get("limitBytes")); err == nil && n >= 0 && n < len(log) {
		log = log[:n]
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(log))
}
