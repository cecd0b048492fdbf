package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startSyncProfile writes a CPU profile to $EVAC_CPUPROFILE and, at the end,
// a heap (allocs) profile to $EVAC_MEMPROFILE, for performance work
// (`go tool pprof bin/evac cpu.out`). Unset variables cost nothing.
func startSyncProfile() (stop func(), err error) {
	cpu, mem := os.Getenv("EVAC_CPUPROFILE"), os.Getenv("EVAC_MEMPROFILE")
	var cf *os.File
	if cpu != "" {
		if cf, err = os.Create(cpu); err != nil {
			return nil, fmt.Errorf("EVAC_CPUPROFILE: %w", err)
		}
		if err = pprof.StartCPUProfile(cf); err != nil {
			cf.Close()
			return nil, fmt.Errorf("EVAC_CPUPROFILE: %w", err)
		}
	}
	return func() {
		if cf != nil {
			pprof.StopCPUProfile()
			cf.Close()
		}
		if mem != "" {
			if mf, err := os.Create(mem); err == nil {
				runtime.GC()
				_ = pprof.Lookup("allocs").WriteTo(mf, 0)
				mf.Close()
			}
		}
	}, nil
}
