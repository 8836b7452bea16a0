package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// statusReport is the JSON object printed by "mailq status".
type statusReport struct {
	Spool    string           `json:"spool"`
	Counts   statusCounts     `json:"counts"`
	Messages []mailqueue.Meta `json:"messages"`
}

type statusCounts struct {
	Queued int `json:"queued"`
	Leased int `json:"leased"`
	Failed int `json:"failed"`
	Total  int `json:"total"`
}

func cmdStatus(ctx context.Context, dir string, args []string, stdout, _ io.Writer) (int, error) {
	if len(args) != 0 {
		return exitUsage, usageErr("status takes no arguments, got %q", args)
	}
	sp, err := mailqueue.OpenSpool(dir, mailqueue.SpoolOptions{Access: mailqueue.AccessReadOnly})
	if err != nil {
		return exitError, err
	}
	defer sp.Close()
	list, err := sp.List(ctx)
	if err != nil {
		return exitError, err
	}
	rep := statusReport{Spool: dir, Messages: list}
	if rep.Messages == nil {
		rep.Messages = []mailqueue.Meta{}
	}
	for _, m := range list {
		switch m.State {
		case mailqueue.StateQueued:
			rep.Counts.Queued++
		case mailqueue.StateLeased:
			rep.Counts.Leased++
		case mailqueue.StateFailed:
			rep.Counts.Failed++
		}
	}
	rep.Counts.Total = len(list)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return exitError, err
	}
	return exitOK, nil
}
