package portal

import "testing"

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "$0.00"}, {2, "$2.00"}, {200, "$200.00"}, {146000, "$146,000.00"}, {265200, "$265,200.00"},
		{1234567.891, "$1,234,567.89"}, {-12.5, "-$12.50"}, {999.999, "$1,000.00"},
	} {
		if got := usd(c.in); got != c.want {
			t.Errorf("usd(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	num := funcs["num"].(func(any) (string, error))
	for in, want := range map[any]string{500.0: "500", 2500.0: "2,500", 280000.0: "280,000", 112.5: "112.50", 1234.5: "1,234.50",
		800: "800", int64(146000): "146,000"} {
		if got, err := num(in); err != nil || got != want {
			t.Errorf("num(%v) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := num("800"); err == nil {
		t.Error("num of a string: no error")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/portal/quota?x=1": "/portal/quota?x=1", "": "/portal/", "/subscriptions": "/portal/",
		"//evil.example/portal/": "/portal/", "https://evil.example/portal/": "/portal/", "/portal/\\evil": "/portal/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
