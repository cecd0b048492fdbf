package snapshot

import (
	"fmt"
	"strings"
)

func lower(s string) string { return strings.ToLower(s) }

func errMissingColumn(c string) error {
	return fmt.Errorf("binlog row image has no column %s (binlog_row_image must be FULL)", c)
}
