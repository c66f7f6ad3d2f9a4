package regtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks Linux to SIGTERM btcd when the test process dies, so
// a test binary killed by a timeout or a panic leaves no node behind (the
// t.Cleanup that normally stops it does not run then).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
