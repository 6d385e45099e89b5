// Package deploy holds what runs ptu elsewhere: the Helm chart
// (deploy/helm/ptu) and the Prometheus rules (deploy/prometheus). Its tests
// run the tools operators run on them: promtool, helm and buildah.
package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
)

// tool returns the path of a command-line tool, from env (a path) or PATH.
// Without it the test skips with how to get it, except under CI=true.
func tool(t *testing.T, name, env, how string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not found (" + how + "; or set " + env + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// TestPrometheusRules checks the rules and runs their unit tests: every
// alert has a case where it fires and one where it does not.
func TestPrometheusRules(t *testing.T) {
	promtool := tool(t, "promtool", "PTU_PROMTOOL", "apt-get install prometheus")
	run(t, promtool, "check", "rules", "prometheus/ptu-rules.yaml")
	out := run(t, promtool, "test", "rules", "prometheus/ptu-rules.test.yaml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %s", out)
	}

	// Every alert is exercised by at least one firing case.
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, "prometheus/ptu-rules.yaml", &rules)
	readYAML(t, "prometheus/ptu-rules.test.yaml", &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fires[r.Alert] {
				t.Errorf("alert %s has no promtool case where it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("alert %s has no promtool case where it stays quiet", r.Alert)
			}
		}
	}
	if n < 9 {
		t.Errorf("%d alerts, want the 9 of docs/operations.md", n)
	}

	// The chart ships the same rules.
	a, _ := os.ReadFile("prometheus/ptu-rules.yaml")
	b, _ := os.ReadFile("helm/ptu/files/ptu-rules.yaml")
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("helm/ptu/files/ptu-rules.yaml differs from prometheus/ptu-rules.yaml: cp deploy/prometheus/ptu-rules.yaml deploy/helm/ptu/files/")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// manifest is one Kubernetes object of helm template's output.
type manifest map[string]any

func (m manifest) get(path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := asMap(v)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// asMap reads a YAML mapping, which the decoder gives as manifest (the
// type it decodes into) or as map[string]any.
func asMap(v any) (manifest, bool) {
	switch m := v.(type) {
	case manifest:
		return m, true
	case map[string]any:
		return m, true
	}
	return nil, false
}

func mustMap(v any) manifest { m, _ := asMap(v); return m }

func (m manifest) str(path ...string) string { s, _ := m.get(path...).(string); return s }

func template(t *testing.T, helm string, args ...string) map[string]manifest {
	t.Helper()
	out := run(t, helm, append([]string{"template", "ptu", "helm/ptu", "--namespace", "models"}, args...)...)
	objs := map[string]manifest{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template output: %v", err)
		}
		if m != nil {
			objs[m.str("kind")] = m
		}
	}
	return objs
}

// container is the Deployment's ptu container.
func container(t *testing.T, objs map[string]manifest) manifest {
	t.Helper()
	d, ok := objs["Deployment"]
	if !ok {
		t.Fatalf("no Deployment among %v", slices.Collect(func(yield func(string) bool) {
			for k := range objs {
				if !yield(k) {
					return
				}
			}
		}))
	}
	cs, _ := d.get("spec", "template", "spec", "containers").([]any)
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	return mustMap(cs[0])
}

// env returns the container's variables: value, or "secret:<name>/<key>".
func env(c manifest) map[string]string {
	out := map[string]string{}
	list, _ := c["env"].([]any)
	for _, e := range list {
		m := mustMap(e)
		if ref := m.get("valueFrom", "secretKeyRef"); ref != nil {
			r := mustMap(ref)
			out[m.str("name")] = "secret:" + r.str("name") + "/" + r.str("key")
			continue
		}
		out[m.str("name")] = m.str("value")
	}
	return out
}

// TestHelmChart lints the chart and templates it with the default values
// and the scale-out values, checking what a cluster would run: secrets by
// reference, probes, TLS, volumes, the ServiceMonitor and the rules.
func TestHelmChart(t *testing.T) {
	helm := tool(t, "helm", "PTU_HELM", "go install helm.sh/helm/v3/cmd/helm@v3.21.4 (scripts/test does it)")
	run(t, helm, "lint", "--strict", "helm/ptu")
	run(t, helm, "lint", "--strict", "helm/ptu", "-f", "helm/ptu/ci/scale-out-values.yaml")

	t.Run("default", func(t *testing.T) {
		objs := template(t, helm)
		d := objs["Deployment"]
		if r, _ := d.get("spec", "replicas").(int); r != 1 || d.str("spec", "strategy", "type") != "Recreate" {
			t.Errorf("replicas %v, strategy %q; want 1 and Recreate (one SQLite writer)", d.get("spec", "replicas"), d.str("spec", "strategy", "type"))
		}
		c := container(t, objs)
		e := env(c)
		if e["PTU_ADMIN_TOKEN"] != "secret:ptu/admin-token" || e["PTU_DATA_DIR"] != "/data" {
			t.Errorf("env %v: want the admin token from the chart's Secret and /data", e)
		}
		for _, k := range []string{"PTU_DATABASE", "PTU_REDIS", "PTU_TLS_CERT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			if _, ok := e[k]; ok {
				t.Errorf("default values set %s", k)
			}
		}
		s := objs["Secret"]
		if tok := s.str("data", "admin-token"); len(tok) < 48 {
			t.Errorf("Secret admin-token %q: want a generated token", tok)
		}
		if objs["PersistentVolumeClaim"] == nil {
			t.Error("no PersistentVolumeClaim for the SQLite store")
		}
		vols, _ := d.get("spec", "template", "spec", "volumes").([]any)
		if len(vols) == 0 || mustMap(vols[0]).str("persistentVolumeClaim", "claimName") != "ptu" {
			t.Errorf("volumes %v: want data on the claim", vols)
		}
		if c.str("livenessProbe", "httpGet", "path") != "/healthz" || c.str("readinessProbe", "httpGet", "path") != "/readyz" ||
			c.str("livenessProbe", "httpGet", "scheme") != "HTTP" {
			t.Errorf("probes: liveness %v readiness %v", c["livenessProbe"], c["readinessProbe"])
		}
		if c.get("securityContext", "readOnlyRootFilesystem") != true ||
			d.get("spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
			t.Error("the container is not read-only and non-root")
		}
		for _, k := range []string{"ServiceMonitor", "PrometheusRule", "ConfigMap", "PodDisruptionBudget"} {
			if objs[k] != nil {
				t.Errorf("default values make a %s", k)
			}
		}
	})

	t.Run("scale-out", func(t *testing.T) {
		objs := template(t, helm, "-f", "helm/ptu/ci/scale-out-values.yaml")
		d := objs["Deployment"]
		if r, _ := d.get("spec", "replicas").(int); r != 3 {
			t.Errorf("replicas %v, want 3", d.get("spec", "replicas"))
		}
		c := container(t, objs)
		if img := c.str("image"); img != "registry.example.com/ptu:1.0.0" {
			t.Errorf("image %q", img)
		}
		e := env(c)
		for k, want := range map[string]string{
			"PTU_ADMIN_TOKEN":             "secret:ptu-secrets/admin-token",
			"PTU_DATABASE":                "secret:ptu-secrets/database-url",
			"PTU_REDIS":                   "secret:ptu-secrets/redis-url",
			"PTU_REPLICAS":                "3",
			"PTU_REDIS_FAILURE_MODE":      "fail-open",
			"PTU_TLS_CERT":                "/etc/ptu/tls/tls.crt",
			"PTU_CONFIG":                  "/etc/ptu/ptu.yaml",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4318",
			"PTU_TRACE_CONTENT":           "false",
		} {
			if e[k] != want {
				t.Errorf("env %s = %q, want %q", k, e[k], want)
			}
		}
		if objs["Secret"] != nil || objs["PersistentVolumeClaim"] != nil {
			t.Error("with an existing Secret and PostgreSQL, the chart makes no Secret and no claim")
		}
		if c.str("readinessProbe", "httpGet", "scheme") != "HTTPS" || c.str("livenessProbe", "httpGet", "scheme") != "HTTPS" {
			t.Error("probes do not speak HTTPS with TLS on")
		}
		if c.str("resources", "requests", "cpu") != "2" {
			t.Errorf("resources %v", c["resources"])
		}
		sm := objs["ServiceMonitor"]
		eps, _ := sm.get("spec", "endpoints").([]any)
		if sm == nil || len(eps) != 1 || mustMap(eps[0]).str("path") != "/metrics" ||
			mustMap(eps[0]).str("scheme") != "https" || sm.str("metadata", "labels", "release") != "prometheus" {
			t.Errorf("ServiceMonitor %v", sm)
		}
		pr := objs["PrometheusRule"]
		groups, _ := pr.get("spec", "groups").([]any)
		if len(groups) != 2 {
			t.Fatalf("PrometheusRule has %d groups, want the 2 of ptu-rules.yaml", len(groups))
		}
		if objs["PodDisruptionBudget"].get("spec", "minAvailable") != 2 {
			t.Errorf("PodDisruptionBudget %v", objs["PodDisruptionBudget"])
		}

		// The configuration the chart mounts is one ptu accepts.
		cfgText := objs["ConfigMap"].str("data", "ptu.yaml")
		path := filepath.Join(t.TempDir(), "ptu.yaml")
		os.WriteFile(path, []byte(cfgText), 0o600)
		cfg, err := config.Load(path)
		if err == nil {
			err = cfg.Validate(catalog.Default())
		}
		if err != nil {
			t.Errorf("the scale-out values' config is refused by ptu: %v", err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		// Several replicas on SQLite would each keep their own state.
		cmd := exec.Command(helm, "template", "ptu", "helm/ptu", "--set", "replicaCount=3")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "needs a PostgreSQL store") {
			t.Errorf("3 replicas without PostgreSQL: %v %s", err, out)
		}
		cmd = exec.Command(helm, "template", "ptu", "helm/ptu", "--set", "tls.enabled=true")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "tls.secretName") {
			t.Errorf("TLS without a Secret: %v %s", err, out)
		}
	})
}

// TestContainerImage builds the image from the Containerfile with buildah
// (vfs storage, no registry pulls) and checks what it holds: the static
// binary, the CA bundle and a data directory owned by the unprivileged
// user, and a configuration that runs `ptu serve` as that user with /data on
// a volume and a health check. Running the image needs a container runtime
// allowed to create namespaces; the test does not run it.
func TestContainerImage(t *testing.T) {
	buildah := tool(t, "buildah", "PTU_BUILDAH", "apt-get install buildah")
	dir := t.TempDir()
	store := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}
	cmd := exec.Command("../scripts/image", "localhost/ptu:test")
	cmd.Env = append(os.Environ(), "BUILDER="+buildah, "BUILD_ARGS="+strings.Join(store, " "), "VERSION=test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(buildah, append(store, "rmi", "--all", "--force")...).Run() })

	// The image as a directory: manifest, config and layers.
	out := filepath.Join(dir, "image")
	run(t, buildah, append(store, "push", "--format", "docker", "localhost/ptu:test", "dir:"+out)...)
	var man struct {
		Config struct{ Digest string } `json:"config"`
		Layers []struct {
			Digest    string
			MediaType string
		} `json:"layers"`
	}
	readJSON(t, filepath.Join(out, "manifest.json"), &man)
	var cfg struct {
		Config struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			Env          []string
			Volumes      map[string]any
			ExposedPorts map[string]any
			WorkingDir   string
			Labels       map[string]string
			Healthcheck  struct{ Test []string }
		} `json:"config"`
	}
	readJSON(t, filepath.Join(out, strings.TrimPrefix(man.Config.Digest, "sha256:")), &cfg)
	c := cfg.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/ptu"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("user %q entrypoint %v cmd %v; want 65532:65532 running /ptu serve", c.User, c.Entrypoint, c.Cmd)
	}
	if _, ok := c.Volumes["/data"]; !ok || !slices.Contains(c.Env, "PTU_DATA_DIR=/data") || !slices.Contains(c.Env, "PTU_ADDR=0.0.0.0:8080") {
		t.Errorf("volumes %v env %v; want /data as the volume and data directory, listening on all addresses", c.Volumes, c.Env)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/ptu", "probe"}) {
		t.Errorf("health check %v, want /ptu probe", c.Healthcheck.Test)
	}
	if c.Labels["org.opencontainers.image.version"] != "test" {
		t.Errorf("labels %v", c.Labels)
	}

	// Its files: nothing but these.
	files := map[string]*tar.Header{}
	var bin []byte
	for _, l := range man.Layers {
		f, err := os.Open(filepath.Join(out, strings.TrimPrefix(l.Digest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.Contains(l.MediaType, "gzip") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := "/" + strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
			files[name] = h
			if name == "/ptu" {
				bin, _ = io.ReadAll(tr)
			}
		}
		f.Close()
	}
	var names []string
	for n, h := range files {
		if h.Typeflag != tar.TypeDir {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if want := []string{"/etc/passwd", "/etc/ssl/certs/ca-certificates.crt", "/ptu"}; !slices.Equal(names, want) {
		t.Errorf("image files %v, want %v", names, want)
	}
	if d := files["/data"]; d == nil || d.Typeflag != tar.TypeDir || d.Uid != 65532 || d.Gid != 65532 {
		t.Errorf("/data %+v: want a directory owned by 65532", d)
	}
	if h := files["/ptu"]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("/ptu %+v: want an executable", h)
	}
	// Static: no interpreter and no shared libraries, so scratch can run it.
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/ptu is not an ELF binary: %v", err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/ptu asks for a dynamic loader; build it with CGO_ENABLED=0")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("/ptu needs %v", libs)
	}
	if passwd := files["/etc/passwd"]; passwd == nil {
		t.Error("no /etc/passwd naming the user")
	}

	runImage(t, store)
}

// runImage runs the image with podman, when the machine lets containers
// run, and checks that `ptu serve` answers /healthz and that the image's
// own health check passes. Where the runtime is refused (no namespaces or
// rlimits for containers) it says so and stops: the image was still built
// and checked above.
func runImage(t *testing.T, store []string) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Log("podman not installed: the image was built and inspected, not run")
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	name := "ptu-test-" + strings.ReplaceAll(filepath.Base(t.TempDir()), "_", "")
	args := append(append([]string{}, store...), "run", "-d", "--name", name, "--network", "host",
		"--cgroups", "disabled", "-e", "PTU_ADDR="+addr, "localhost/ptu:test")
	out, err := exec.Command(podman, args...).CombinedOutput()
	defer exec.Command(podman, append(append([]string{}, store...), "rm", "-f", name)...).Run()
	if err != nil {
		t.Logf("the image was built and inspected; running it was refused here: %s", strings.TrimSpace(string(out)))
		return
	}
	var status int
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond) // the container starting, not a timed assertion
	}
	if status != http.StatusOK {
		out, _ := exec.Command(podman, append(append([]string{}, store...), "logs", name)...).CombinedOutput()
		t.Fatalf("the container's /healthz answered %d; logs:\n%s", status, out)
	}
	if out, err := exec.Command(podman, append(append([]string{}, store...), "healthcheck", "run", name)...).CombinedOutput(); err != nil {
		t.Errorf("podman healthcheck run: %v %s", err, out)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
