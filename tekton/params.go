package tekton

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// LabelCommand names the declared command that created a PipelineRun.
const LabelCommand = "tekbot.dev/command"

// OverrideParams sets string params on a run: a param of the same name is
// replaced, others are added, in name order so the spec is the same for
// the same overrides.
func OverrideParams(pr *pipelinev1.PipelineRun, params map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		value := *pipelinev1.NewStructuredValues(params[name])
		i := slices.IndexFunc(pr.Spec.Params, func(p pipelinev1.Param) bool { return p.Name == name })
		if i >= 0 {
			pr.Spec.Params[i].Value = value
			continue
		}
		pr.Spec.Params = append(pr.Spec.Params, pipelinev1.Param{Name: name, Value: value})
	}
}

// RerunWithParams is Rerun with some params overridden ("/test unit
// key=value"). Its name is the rerun's: one attempt per run retried.
func (c *Cluster) RerunWithParams(ctx context.Context, orig *pipelinev1.PipelineRun, by Requester, params map[string]string) (*pipelinev1.PipelineRun, bool, error) {
	return c.RerunEdited(ctx, orig, by, func(pr *pipelinev1.PipelineRun) { OverrideParams(pr, params) })
}

// CommandRunName names the PipelineRun of a declared command from the
// request, the verb and its arguments: a redelivery of the request gets
// AlreadyExists instead of a second run. It fits a DNS label.
func CommandRunName(requestID, verb string, args []string) string {
	sum := sha256.Sum256([]byte(requestID + "\x00" + verb + "\x00" + strings.Join(args, "\x00")))
	suffix := hex.EncodeToString(sum[:])[:10]
	base := verb
	if len(base) > 63-len(suffix)-1 {
		base = strings.TrimRight(base[:63-len(suffix)-1], "-")
	}
	return base + "-" + suffix
}
