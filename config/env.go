package config

import (
	"fmt"
	"os"
	"strings"
)

// LookupEnv finds an environment variable (os.LookupEnv in production).
type LookupEnv func(name string) (string, bool)

// envError is a problem with one ${...} reference in a value.
type envError struct {
	Problem string
	Fix     string
}

func (e *envError) Error() string { return e.Problem + " (" + e.Fix + ")" }

// expand replaces ${VAR} and ${VAR:-default} in s. "$${" writes a literal
// "${". A "$" not followed by "{" is kept as is, so passwords that contain
// "$" need no escaping. A variable that is unset (or set but empty) and has
// no default is an error naming it; ${VAR:-} gives an explicit empty default.
// fromEnv reports whether any reference was expanded.
func expand(s string, lookup LookupEnv) (out string, fromEnv bool, err error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", false, &envError{
					Problem: fmt.Sprintf("unterminated ${ at offset %d", i),
					Fix:     "close it with } or write $${ for a literal ${",
				}
			}
			v, err := resolve(s[i+2:i+end], lookup)
			if err != nil {
				return "", false, err
			}
			b.WriteString(v)
			fromEnv = true
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), fromEnv, nil
}

func resolve(ref string, lookup LookupEnv) (string, error) {
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		return "", &envError{
			Problem: fmt.Sprintf("invalid environment variable reference ${%s}", ref),
			Fix:     "use ${NAME} or ${NAME:-default}, NAME made of letters, digits and _",
		}
	}
	if v, ok := lookup(name); ok && v != "" {
		return v, nil
	}
	if hasDef {
		return def, nil
	}
	return "", &envError{
		Problem: fmt.Sprintf("environment variable %s is not set", name),
		Fix:     "export it before running evac, or write a default after :- inside the braces",
	}
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ExpandEnv expands ${VAR} and ${VAR:-default} in a flag value exactly as in
// the config file, so a DSN flag can be given in single quotes and the
// password stays out of `ps`:
//
//	--source 'evac:${MYSQL_PASSWORD}@tcp(db1:3306)/'
//
// Unlike os.ExpandEnv, a "$" not followed by "{" is kept (passwords may
// contain "$"), and an unset variable is an error that names it.
func ExpandEnv(s string) (string, error) {
	out, _, err := expand(s, os.LookupEnv)
	return out, err
}
