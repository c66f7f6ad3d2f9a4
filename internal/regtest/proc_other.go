//go:build !linux

package regtest

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; there a killed
// test process can leave its btcd running until the machine cleans up.
func dieWithParent(*exec.Cmd) {}
