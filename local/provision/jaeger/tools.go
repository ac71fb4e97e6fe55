//go:build tools

// Keeps cmd/jaeger and its dependencies in this module's graph for `go mod tidy`.
package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
