package config

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
)

// envAnnotation is the flag annotation BindEnv stores a flag's variable in.
const envAnnotation = "ptu-env"

// BindEnv makes the environment variable env set the flag name, and names the
// variable in the flag's usage. ApplyEnv does the setting.
func BindEnv(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("config.BindEnv: no flag --" + name)
	}
	f.Usage += " [" + env + "]"
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[envAnnotation] = []string{env}
}

// EnvError is an environment variable whose value its flag's parser refuses.
type EnvError struct {
	Var, Value string
	Err        error
}

func (e *EnvError) Error() string { return fmt.Sprintf("%s=%q: %v", e.Var, e.Value, e.Err) }

func (e *EnvError) Unwrap() error { return e.Err }

// ApplyEnv sets every flag bound with BindEnv that the command line left
// unset from its variable, when the variable is set to a value other than
// "": an empty variable counts as unset, as container and chart templates
// write an option they leave out.
// The value goes through the flag's own parser, so it is read exactly as the
// flag would read it: a duration needs its unit ("30s", not "30"), a boolean
// is what strconv.ParseBool takes. A flag given on the command line wins over
// its variable. Every refused value is returned, each as an *EnvError.
// lookup is os.LookupEnv, or a map in tests.
func ApplyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		vars := f.Annotations[envAnnotation]
		if len(vars) == 0 || f.Changed {
			return
		}
		v, ok := lookup(vars[0])
		if !ok || v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, &EnvError{Var: vars[0], Value: v, Err: err})
		}
	})
	return errors.Join(errs...)
}
