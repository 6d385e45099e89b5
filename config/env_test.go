package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// envFlags is a flag set of every kind ptu serve has, each bound to a variable.
type envFlags struct {
	fs       *pflag.FlagSet
	addr     string
	replicas int
	maxBody  int64
	scale    float64
	timeout  time.Duration
	tls      bool
}

func newEnvFlags() *envFlags {
	f := &envFlags{fs: pflag.NewFlagSet("serve", pflag.ContinueOnError)}
	f.fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	f.fs.IntVar(&f.replicas, "replicas", 1, "replicas")
	f.fs.Int64Var(&f.maxBody, "max-body", 1<<20, "largest body")
	f.fs.Float64Var(&f.scale, "time-scale", 1, "time scale")
	f.fs.DurationVar(&f.timeout, "read-timeout", 30*time.Second, "read timeout")
	f.fs.BoolVar(&f.tls, "tls-self-signed", false, "self-signed TLS")
	for name, env := range map[string]string{
		"addr": "T_ADDR", "replicas": "T_REPLICAS", "max-body": "T_MAX_BODY",
		"time-scale": "T_TIME_SCALE", "read-timeout": "T_READ_TIMEOUT", "tls-self-signed": "T_TLS",
	} {
		BindEnv(f.fs, name, env)
	}
	return f
}

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*envFlags) bool
		errs []string // each error line, in flag order; none when empty
	}{
		{name: "unset keeps the defaults", want: func(f *envFlags) bool {
			return f.addr == "127.0.0.1:8080" && f.replicas == 1 && f.maxBody == 1<<20 && f.scale == 1 &&
				f.timeout == 30*time.Second && !f.tls
		}},
		{name: "every kind parsed as its flag parses it",
			env: map[string]string{"T_ADDR": "0.0.0.0:9", "T_REPLICAS": "0x10", "T_MAX_BODY": "2048",
				"T_TIME_SCALE": "2.5", "T_READ_TIMEOUT": "1m30s", "T_TLS": "T"},
			want: func(f *envFlags) bool {
				return f.addr == "0.0.0.0:9" && f.replicas == 16 && f.maxBody == 2048 && f.scale == 2.5 &&
					f.timeout == 90*time.Second && f.tls
			}},
		{name: "an empty variable is unset", env: map[string]string{"T_ADDR": "", "T_READ_TIMEOUT": ""},
			want: func(f *envFlags) bool { return f.addr == "127.0.0.1:8080" && f.timeout == 30*time.Second }},
		{name: "the command line wins", args: []string{"--read-timeout", "5s", "--tls-self-signed=false"},
			env:  map[string]string{"T_READ_TIMEOUT": "30", "T_TLS": "on"},
			want: func(f *envFlags) bool { return f.timeout == 5*time.Second && !f.tls }},
		{name: "a duration without its unit", env: map[string]string{"T_READ_TIMEOUT": "30"},
			errs: []string{`T_READ_TIMEOUT="30": time: missing unit in duration "30"`}},
		{name: "a boolean strconv.ParseBool refuses", env: map[string]string{"T_TLS": "on"},
			errs: []string{`T_TLS="on": strconv.ParseBool: parsing "on": invalid syntax`}},
		{name: "yes is not a boolean", env: map[string]string{"T_TLS": "yes"},
			errs: []string{`T_TLS="yes": strconv.ParseBool: parsing "yes": invalid syntax`}},
		{name: "an integer with a unit", env: map[string]string{"T_MAX_BODY": "1MiB"},
			errs: []string{`T_MAX_BODY="1MiB": strconv.ParseInt: parsing "1MiB": invalid syntax`}},
		{name: "an integer out of range", env: map[string]string{"T_REPLICAS": "99999999999999999999"},
			errs: []string{`T_REPLICAS="99999999999999999999": strconv.ParseInt: parsing "99999999999999999999": value out of range`}},
		{name: "a float", env: map[string]string{"T_TIME_SCALE": "fast"},
			errs: []string{`T_TIME_SCALE="fast": strconv.ParseFloat: parsing "fast": invalid syntax`}},
		{name: "every bad value is reported", env: map[string]string{"T_TLS": "off!", "T_READ_TIMEOUT": "10", "T_ADDR": "x"},
			errs: []string{
				`T_READ_TIMEOUT="10": time: missing unit in duration "10"`,
				`T_TLS="off!": strconv.ParseBool: parsing "off!": invalid syntax`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEnvFlags()
			if err := f.fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(f.fs, func(name string) (string, bool) { v, ok := tt.env[name]; return v, ok })
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tt.errs)
				}
				if got := strings.Split(err.Error(), "\n"); strings.Join(got, "|") != strings.Join(tt.errs, "|") {
					t.Fatalf("error\n%s\nwant\n%s", err, strings.Join(tt.errs, "\n"))
				}
				var ee *EnvError
				if !errors.As(err, &ee) || ee.Value != tt.env[ee.Var] {
					t.Fatalf("%v is not an *EnvError with the variable's value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(f) {
				t.Fatalf("flags %+v", *f)
			}
		})
	}
}

func TestBindEnvUsage(t *testing.T) {
	f := newEnvFlags()
	if got := f.fs.Lookup("read-timeout").Usage; got != "read timeout [T_READ_TIMEOUT]" {
		t.Fatalf("usage %q", got)
	}
	// A flag with no variable is left alone even when a like-named variable is set.
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	n := fs.Int("n", 1, "")
	if err := ApplyEnv(fs, func(string) (string, bool) { return "bad", true }); err != nil || *n != 1 {
		t.Fatalf("unbound flag: %v, %d", err, *n)
	}
}
