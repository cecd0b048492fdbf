package apply

// SetMaxPipeline changes the UPDATE pipeline depth (tests, measurements).
func SetMaxPipeline(n int) (old int) { old, maxPipeline = maxPipeline, n; return old }
