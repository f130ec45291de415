package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Replies are read by everyone on a PR or in a channel, so they say what
// failed in words. Endpoints, label selectors and raw errors go to the log,
// under the request ID that the reply quotes.

// Trouble is the reply for work that failed on our side or a service's:
// what could not be done, why in words, that nothing was done (the caller
// says so only when it is true), and the short request ID to find the log
// line by.
func Trouble(req *Request, service string, err error, what string) Reply {
	return Reply{Outcome: Failed, Text: fmt.Sprintf("Could not %s: %s. Nothing was done; please try again. (request %s)", what, Explain(service, err), ShortID(req.ID))}
}

// Explain says in words why service failed, e.g. "the dogfooding cluster is
// unreachable", from the error's kind only: never its text, which may hold
// URLs, selectors or tokens.
func Explain(service string, err error) string {
	var netErr net.Error
	var status apierrors.APIStatus
	var httpErr interface{ HTTPStatus() int }
	code := 0
	switch {
	case errors.As(err, &status):
		code = int(status.Status().Code)
	case errors.As(err, &httpErr):
		code = httpErr.HTTPStatus()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "tekbot is shutting down"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout(),
		code == http.StatusGatewayTimeout, code == http.StatusRequestTimeout:
		return service + " did not answer in time"
	case errors.As(err, &netErr):
		return service + " is unreachable"
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return service + " refused tekbot's credentials"
	case code == http.StatusNotFound:
		return service + " does not have it (any more)"
	case code == http.StatusConflict:
		return service + " saw a conflicting change"
	case code == http.StatusTooManyRequests:
		var limit interface{ LimitedUntil() time.Time }
		if errors.As(err, &limit) && !limit.LimitedUntil().IsZero() {
			return service + " is rate-limiting tekbot until " + limit.LimitedUntil().UTC().Format("15:04 MST")
		}
		return service + " is rate-limiting tekbot"
	case code >= 500:
		return service + " had an internal error"
	default:
		return service + " returned an error"
	}
}

// FromService reports whether err came from a service (an apiserver, an
// API, the network) rather than being a refusal written for the user: the
// former is told with Trouble, the latter may be quoted.
func FromService(err error) bool {
	var netErr net.Error
	var status apierrors.APIStatus
	var httpErr interface{ HTTPStatus() int }
	return errors.As(err, &netErr) || errors.As(err, &status) || errors.As(err, &httpErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// ShortID is the part of a request ID a reply quotes: enough to find the
// log lines, which carry the whole ID.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
