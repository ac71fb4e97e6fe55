// daprd for the cluster: the components the chart's sidecars use in Kubernetes mode, and nothing
// else. pubsub.kafka, state.redis and lock.redis are the chart's Components; name resolution by
// Kubernetes DNS is Dapr's default on Kubernetes; the built-in Kubernetes secret store is what a pod
// gets unless it sets dapr.io/disable-builtin-k8s-secret-store. Built by tests/cluster/provision.sh with
// the same overlay as the local daprd (local/provision/daprd/stub/components.go.txt).
package main

import (
	lockredis "github.com/dapr/components-contrib/lock/redis"
	nrkubernetes "github.com/dapr/components-contrib/nameresolution/kubernetes"
	"github.com/dapr/components-contrib/pubsub/kafka"
	sskubernetes "github.com/dapr/components-contrib/secretstores/kubernetes"
	stateredis "github.com/dapr/components-contrib/state/redis"
	"github.com/dapr/dapr/cmd/daprd/app"
	lockLoader "github.com/dapr/dapr/pkg/components/lock"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
)

func init() {
	pubsubLoader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")
	stateLoader.DefaultRegistry.RegisterComponent(stateredis.NewRedisStateStore, "redis")
	lockLoader.DefaultRegistry.RegisterComponent(lockredis.NewStandaloneRedisLock, "redis")
	nrLoader.DefaultRegistry.RegisterComponent(nrkubernetes.NewResolver, "kubernetes")
	secretstoresLoader.DefaultRegistry.RegisterComponent(sskubernetes.NewKubernetesSecretStore, "kubernetes")
}

func main() {
	app.Run()
}
