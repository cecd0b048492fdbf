package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evac-dev/evac/internal/version"
)

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the evac version, commit and Go version",
		Example: `  evac version
  evac version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			i := version.Get()
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				return enc.Encode(i)
			}
			_, err := fmt.Fprintf(a.stdout, "evac %s\ncommit: %s\ngo: %s\nplatform: %s\n", i.Version, i.Commit, i.Go, i.Platform)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"version\", \"commit\", \"go\", \"platform\"}")
	return cmd
}
