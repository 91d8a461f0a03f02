// Package envsubst expands ${NAME} and ${NAME:-default} in configuration
// files, so that secrets and addresses come from the environment.
package envsubst

import (
	"os"
	"regexp"
)

var ref = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Expand replaces each ${NAME} with the variable's value and each
// ${NAME:-default} with the value, or the default when the variable is
// unset or empty.
func Expand(text string) string {
	return ref.ReplaceAllStringFunc(text, func(m string) string {
		g := ref.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(g[1]); ok && v != "" {
			return v
		}
		return g[3]
	})
}
