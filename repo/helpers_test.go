package repo_test

import (
	"errors"

	"github.com/chartd/chartd/repo"
)

func asStatus(err error, target **repo.StatusError) bool { return errors.As(err, target) }
