package config

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// parseDotenv reads KEY=VALUE lines the way python-dotenv does for the
// files the Bitweb server ships: comments, blank lines, an optional
// "export " prefix, and single or double quotes around the value. A line
// it cannot read is reported with its number, never silently dropped.
func parseDotenv(r io.Reader, source string) (map[string]string, Problems) {
	vals := map[string]string{}
	var probs Problems
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t\"'") {
			probs.add(fmt.Sprintf("%s:%d", source, n), "", "expected KEY=VALUE, got %q", line)
			continue
		}
		val = strings.TrimSpace(val)
		if q := quoteOf(val); q != 0 {
			end := strings.IndexByte(val[1:], q)
			if end < 0 {
				probs.add(fmt.Sprintf("%s:%d", source, n), key, "unterminated quoted value")
				continue
			}
			inner := val[1 : 1+end]
			if q == '"' {
				inner = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(inner)
			}
			val = inner
		} else if i := strings.Index(val, " #"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		vals[key] = val
	}
	if err := sc.Err(); err != nil {
		probs.add(source, "", "read: %v", err)
	}
	return vals, probs
}

func quoteOf(v string) byte {
	if len(v) >= 1 && (v[0] == '"' || v[0] == '\'') {
		return v[0]
	}
	return 0
}
