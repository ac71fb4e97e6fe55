//go:build tools

// Keeps CloudNativePG's manager (the operator, and the instance manager it copies into each Postgres
// pod) in this module's graph for `go mod tidy`.
package tools

import _ "github.com/cloudnative-pg/cloudnative-pg/cmd/manager"
