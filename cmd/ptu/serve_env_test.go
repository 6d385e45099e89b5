package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestServeRefusesBadEnvironment runs `ptu serve` with variables its flags
// would refuse: it exits 1 before serving, naming each variable and value.
func TestServeRefusesBadEnvironment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "PTU_TEST_RUN_MAIN=1",
		"PTU_READ_TIMEOUT=30", "PTU_TLS_SELF_SIGNED=on", "PTU_MAX_STREAMS=1000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("ptu serve ended with %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	want := "error: PTU_READ_TIMEOUT=\"30\": time: missing unit in duration \"30\"\n" +
		"PTU_TLS_SELF_SIGNED=\"on\": strconv.ParseBool: parsing \"on\": invalid syntax\n"
	if stderr.String() != want {
		t.Errorf("stderr\n%s\nwant\n%s", stderr.String(), want)
	}
	if stdout.Len() > 0 {
		t.Errorf("ptu serve printed %q: it started", stdout.String())
	}
}

func TestProbeTLSFromEnvironment(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    bool
		wantErr string
	}{
		{env: nil, want: false},
		{env: map[string]string{"PTU_TLS_SELF_SIGNED": "true"}, want: true},
		{env: map[string]string{"PTU_TLS_SELF_SIGNED": "0"}, want: false},
		{env: map[string]string{"PTU_TLS_SELF_SIGNED": "false", "PTU_TLS_CERT": "/tls/cert.pem"}, want: true},
		{env: map[string]string{"PTU_TLS_CERT": ""}, want: false},
		{env: map[string]string{"PTU_TLS_SELF_SIGNED": "yes"}, wantErr: `PTU_TLS_SELF_SIGNED="yes": strconv.ParseBool: parsing "yes": invalid syntax`},
	}
	for _, tt := range tests {
		got, err := serveTLS(func(name string) (string, bool) { v, ok := tt.env[name]; return v, ok })
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v: error %v, want %s", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: %v, %v; want %v", tt.env, got, err, tt.want)
		}
	}
}
