package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/chartd/chartd/internal/helmpath"
)

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org), as
// Helm 4 reads it: unset or empty is no override, anything but a
// non-negative count of seconds is an error.
func sourceDateEpoch(lookup helmpath.Lookup) (*time.Time, error) {
	s, ok := lookup("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid SOURCE_DATE_EPOCH: %w", err)
	}
	if n < 0 {
		return nil, errors.New("invalid SOURCE_DATE_EPOCH: must not be negative")
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}
