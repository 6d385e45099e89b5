package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/storetest"
)

func TestStoreAccess(t *testing.T) {
	storetest.RunAccess(t, func(t *testing.T) ptu.Store {
		return open(t, filepath.Join(t.TempDir(), "ptu.db"))
	})
}
