// Command etcd is the etcd server at the version the Kubernetes module pins,
// built from the Go module proxy alongside kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
