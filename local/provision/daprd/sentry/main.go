// Dapr's sentry (the certificate authority of the sidecars' mTLS) from the same pinned Dapr module as
// daprd. The local stack runs it with a trust bundle made per run and the jwks token validator, so a
// sidecar gets a certificate for its own app id only. Built by local/src/provision/daprd.ts.
package main

import "github.com/dapr/dapr/cmd/sentry/app"

func main() {
	app.Run()
}
