// Command kube-apiserver is the upstream Kubernetes API server, built from the
// Go module proxy so tekbot's tests and sandbox run against a real apiserver
// without Docker or downloaded release binaries.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
