package upstream_test

import "errors"

func asUnavailable(err error, target *interface{ Unavailable() bool }) bool {
	return errors.As(err, target)
}
