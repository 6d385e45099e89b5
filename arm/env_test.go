package arm_test

import (
	"context"
	"encoding/json"
	"github.com/ptu-dev/ptu/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/sqlite"
)

const (
	adminToken = "test-admin-token"
	subID      = "00000000-0000-0000-0000-000000000001"
	otherSubID = "00000000-0000-0000-0000-000000000002"
	apiVersion = "2024-10-01"
	publicURL  = "https://ptu.test"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testRegions and testPools are the fleet every test runs on. eastus is the
// "short" region: its gpt-4o pool holds 200 PTUs, which Global and Data Zone
// deployments of eastus accounts fill first, while westus and swedencentral
// have room.
var testRegions = []ptu.Region{
	{Name: "eastus", DisplayName: "East US", DataZone: "us"},
	{Name: "westus", DisplayName: "West US", DataZone: "us"},
	{Name: "swedencentral", DisplayName: "Sweden Central", DataZone: "eu"},
}

var testPools = []ptu.Pool{
	{ID: "eastus/gpt-4o/2024-08-06", Region: "eastus", Model: "gpt-4o", Version: "2024-08-06", RatedPTU: 200, Backend: "sim"},
	{ID: "westus/gpt-4o/2024-08-06", Region: "westus", Model: "gpt-4o", Version: "2024-08-06", RatedPTU: 500, Backend: "sim"},
	{ID: "swedencentral/gpt-4o/2024-08-06", Region: "swedencentral", Model: "gpt-4o", Version: "2024-08-06", RatedPTU: 300, Backend: "sim"},
	{ID: "eastus/gpt-4o-mini/2024-07-18", Region: "eastus", Model: "gpt-4o-mini", Version: "2024-07-18", RatedPTU: 50, Backend: "sim"},
}

var testQuota = map[string]int{
	ptu.GlobalProvisionedManaged:   500,
	ptu.DataZoneProvisionedManaged: 300,
	ptu.ProvisionedManaged:         200,
}

// env is a handler over a real SQLite store with a clock that moves only
// when a test sets it.
type env struct {
	t     testing.TB
	store *sqlite.DB
	svc   *control.Service
	h     http.Handler
	logs  *syncBuffer
	clock *clock.Fake
}

// testCatalog is a small fixed catalog, so golden files do not follow
// changes to the default one.
func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	data, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, testCatalog(t))
}

func newEnvWith(t testing.TB, cat *catalog.Catalog) *env {
	t.Helper()
	return newEnvOpts(t, cat, nil)
}

// newEnvOpts is newEnvWith with handler options set by opt (the admin token,
// the logger and the clock are the environment's).
func newEnvOpts(t testing.TB, cat *catalog.Catalog, opt func(*arm.Options)) *env {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seed(t, db)
	clk := clock.NewFake(fixedNow)
	svc := control.New(db, cat, control.Options{
		Now:          clk.Now,
		PublicURL:    publicURL,
		DefaultQuota: testQuota,
	})
	logs := &syncBuffer{}
	o := arm.Options{AdminToken: adminToken, Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: clk.Now}
	if opt != nil {
		opt(&o)
	}
	h := arm.New(arm.ServicesOf(svc), o)
	return &env{t: t, store: db, svc: svc, h: h, logs: logs, clock: clk}
}

func seed(t testing.TB, st ptu.Store) {
	t.Helper()
	err := st.Update(context.Background(), func(tx ptu.Tx) error {
		for _, s := range []ptu.Subscription{
			{ID: subID, DisplayName: "ptu-dev", State: "Enabled"},
			{ID: otherSubID, DisplayName: "ptu-other", State: "Enabled"},
		} {
			if err := tx.Subscriptions().Put(s); err != nil {
				return err
			}
		}
		for _, r := range testRegions {
			if err := tx.Regions().Put(r); err != nil {
				return err
			}
		}
		for _, p := range testPools {
			if err := tx.Pools().Put(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// do sends a request with the admin token (unless hdr sets Authorization;
// an empty value sends none) and returns the recorded response.
func (e *env) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, body string) []byte {
	e.t.Helper()
	rec := e.do(method, path, body)
	if rec.Code != want {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, rec.Code, want, rec.Body.String())
	}
	return rec.Body.Bytes()
}

// armError is the decoded ARM error envelope.
type armError struct {
	Error struct {
		Code           string `json:"code"`
		Message        string `json:"message"`
		Target         string `json:"target"`
		AdditionalInfo []struct {
			Type string          `json:"type"`
			Info json.RawMessage `json:"info"`
		} `json:"additionalInfo"`
	} `json:"error"`
}

func decodeError(t *testing.T, body []byte) armError {
	t.Helper()
	var e armError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	return e
}

func subPath(p string) string { return "/subscriptions/" + subID + p }

func acctPath(rg, name, rest string) string {
	return subPath("/resourceGroups/" + rg + "/providers/Microsoft.CognitiveServices/accounts/" + name + rest)
}

func q(path string) string {
	if strings.Contains(path, "?") {
		return path + "&api-version=" + apiVersion
	}
	return path + "?api-version=" + apiVersion
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = testenv.Log
