// Package deploy is tekbot's Kubernetes install: a kustomize base
// (kustomization.yaml and the files it lists), the config file it mounts,
// and the Slack app manifest. The package has no code of its own; its tests
// render the base with kustomize, check the objects and the config, apply
// them to a real kube-apiserver and check what tekbot's ServiceAccount may
// and may not do there.
package deploy
