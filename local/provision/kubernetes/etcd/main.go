// etcd at the release Kubernetes pins (go.etcd.io/etcd/server/v3 in k8s.io/kubernetes' go.mod): the
// same entry point as etcd's own binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
