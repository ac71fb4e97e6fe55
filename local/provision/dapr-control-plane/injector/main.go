package main

import "github.com/dapr/dapr/cmd/injector/app"

func main() {
	app.Run()
}
