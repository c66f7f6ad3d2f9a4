package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration: where it was read,
// which key, and why it is refused. Each prints as one line so an operator
// sees every mistake at once instead of fixing them one start at a time.
type Problem struct {
	Source string // file name, ".env", or "environment"
	Key    string // dotted YAML path or variable name
	Why    string
}

// String formats the problem as "source: key: why".
func (p Problem) String() string {
	switch {
	case p.Source != "" && p.Key != "":
		return fmt.Sprintf("%s: %s: %s", p.Source, p.Key, p.Why)
	case p.Key != "":
		return fmt.Sprintf("%s: %s", p.Key, p.Why)
	case p.Source != "":
		return fmt.Sprintf("%s: %s", p.Source, p.Why)
	}
	return p.Why
}

// Problems is every problem found while loading; it is the error Load
// returns for an invalid configuration.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(source, key, format string, args ...any) {
	*ps = append(*ps, Problem{Source: source, Key: key, Why: fmt.Sprintf(format, args...)})
}
