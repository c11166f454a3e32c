package server

import (
	"errors"

	"sluice/operators"
)

func compilePending(string) ([]*operators.QuerySpec, error) {
	return nil, errors.New("sqlengine.Compile has not landed yet")
}
