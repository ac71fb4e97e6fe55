package main

import "github.com/dapr/dapr/cmd/operator/app"

func main() {
	app.Run()
}
