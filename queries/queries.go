// Package queries embeds the shipped pipeline, deployed at start.
package queries

import "embed"

// Files holds queries/*.sql.
//
//go:embed *.sql
var Files embed.FS
