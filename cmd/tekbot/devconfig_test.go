package main

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestSandboxConfigHasTheExampleCommands: the sandbox declares the example
// config's commands and PR params, so what the README shows of them
// (`/cherry-pick release-v1.2.x`, `/tekton nightly`, `/test unit
// goVersion=1.23`) can be tried in `tekbot dev`, and the two cannot drift.
func TestSandboxConfigHasTheExampleCommands(t *testing.T) {
	t.Parallel()
	example, err := loadConfig(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := filepath.Abs(filepath.Join("..", "..", "config", "example", "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := writeDevConfig(t.TempDir(), kubeconfig, kubeconfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.Commands) == 0 || !reflect.DeepEqual(dev.Commands, example.Commands) {
		t.Errorf("the sandbox declares %+v\nthe example config %+v", dev.Commands, example.Commands)
	}
	const repo = "tektoncd/pipeline"
	if got, want := dev.Repository(repo).Params, example.Repository(repo).Params; len(got) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("the sandbox lets /test set %v, the example config %v", got, want)
	}
}
