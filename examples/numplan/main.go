// Command numplan is the "test rules" tool of package numplan: it compiles
// a numbering plan and runs numbers through it.
//
// Usage:
//
//	numplan -plan plan.json [-explain] < lines
//
// The plan file is the numplan.Config JSON ({"internal_patterns": [...],
// "local_country_code": "+44", ...}). Each input line is
//
//	<in|tapi|out|classify> <number> [primary=<ext>]
//
// (the number may contain spaces; blank lines and lines starting with "//"
// are skipped) and each output line is one JSON object
// {"input","direction","kind","key","legacy_key","dial","rule","explain","error"}
// with empty fields omitted; -explain adds the trace. A line whose command
// is not one of the four prints {"input":"<the whole line>","error":
// "numplan: unknown command \"bogus\" (want in, tapi, out or classify)"}
// and the command goes on with the next line.
//
// Exit status: 0 every line was read (lines with an error included); 1 the
// input could not be read or the output written; 2 bad arguments, a plan
// file that cannot be read ("numplan: cannot read plan file: <reason>" on
// stderr) or an invalid plan (every problem listed on stderr).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/ucxkit/ucxkit/numplan"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("numplan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	planPath := fs.String("plan", "", "numbering plan file (numplan.Config JSON)")
	explain := fs.Bool("explain", false, "add the explain trace to every result")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: numplan -plan plan.json [-explain] < lines")
		fmt.Fprintln(stderr, "lines: <in|tapi|out|classify> <number> [primary=<ext>]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *planPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg, err := loadPlan(*planPath)
	var re *readError
	if errors.As(err, &re) {
		fmt.Fprintf(stderr, "numplan: cannot read plan file: %v\n", re.err)
		return 2
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "numplan: %s: invalid plan:\n", *planPath)
		for _, e := range flatten(err) {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
		return 2
	}
	plan, err := numplan.Compile(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "numplan: %s: %v\n", *planPath, err)
		return 2
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		if err := enc.Encode(process(plan, line, *explain)); err != nil {
			fmt.Fprintf(stderr, "numplan: write: %v\n", err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		out.Flush()
		fmt.Fprintf(stderr, "numplan: read: %v\n", err)
		return 1
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "numplan: write: %v\n", err)
		return 1
	}
	return 0
}

// process runs one input line.
func process(plan *numplan.Plan, line string, explain bool) numplan.Result {
	cmd, rest := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		cmd, rest = line[:i], line[i+1:]
	}
	rest = strings.TrimSpace(rest)
	primary := ""
	if f := strings.Fields(rest); len(f) > 0 && strings.HasPrefix(f[len(f)-1], "primary=") {
		last := f[len(f)-1]
		primary = strings.TrimPrefix(last, "primary=")
		rest = strings.TrimSpace(strings.TrimSuffix(rest, last))
	}
	dir := numplan.Direction(strings.ToLower(cmd))
	switch dir {
	case numplan.DirIn, numplan.DirTAPI, numplan.DirOut, numplan.DirClassify:
	default:
		// The whole line is the input: the command is what is wrong.
		return numplan.Result{Input: line, Rule: -1, Err: fmt.Errorf("numplan: unknown command %q (want in, tapi, out or classify)", cmd)}
	}
	if explain {
		return plan.Explain(dir, rest, primary)
	}
	switch dir {
	case numplan.DirIn:
		return plan.In(rest)
	case numplan.DirTAPI:
		return plan.TAPI(rest)
	case numplan.DirOut:
		return plan.Out(rest, primary)
	default:
		return plan.Classify(rest)
	}
}

// loadPlan reads the plan file and reports every unknown field and every
// field of the wrong type, not just the first.
func loadPlan(path string) (numplan.Config, error) {
	var cfg numplan.Config
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, &readError{err: err}
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return cfg, fmt.Errorf("not a JSON object: %w", err)
	}
	if raw == nil {
		return cfg, errors.New("not a JSON object")
	}
	if dec.More() {
		return cfg, errors.New("trailing data after the JSON object")
	}
	fields := map[string]reflect.Value{}
	v := reflect.ValueOf(&cfg).Elem()
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		fields[name] = v.Field(i)
	}
	var errs []error
	for _, name := range sortedKeys(raw) {
		fv, ok := fields[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown field", name))
			continue
		}
		if err := json.Unmarshal(raw[name], fv.Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				err = fmt.Errorf("must be a JSON %s, got %s", te.Type, te.Value)
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		if verr := cfg.Validate(); verr != nil {
			errs = append(errs, verr)
		}
		return cfg, errors.Join(errs...)
	}
	return cfg, nil
}

// readError is a plan file that could not be read (as opposed to one
// that does not parse).
type readError struct{ err error }

func (e *readError) Error() string { return "cannot read plan file: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
