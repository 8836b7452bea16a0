// Package readmetest turns the shell examples of an example program's
// README.md into test cases, so that a test can run every documented
// command and compare what it does with what the README says.
//
// # README syntax
//
// Only fenced blocks opened by a line that is exactly "```sh" are read.
// Inside one, every line is one of:
//
//   - a command: "[echo 'TEXT' |] go run PROG ARGS [< FILE | <<'EOF']",
//     where PROG is the program the caller names (for example
//     "./examples/numplan"). "echo 'TEXT' |" gives TEXT plus a newline as
//     standard input; "< FILE" names a file for standard input (relative
//     to the repository root); "<<'EOF'" takes the following lines up to a
//     line "EOF" as standard input. ARGS are split on white space; no
//     quoting is understood.
//   - "# exit status N": the exit status of the previous command (0 when
//     absent).
//   - "# prints: TEXT": the previous command's standard output contains
//     TEXT (may repeat).
//   - "# stderr: TEXT": the previous command's standard error contains
//     TEXT (may repeat).
//
// A ```json block that follows a ```sh block after one empty line is the
// exact standard output of that block's last command.
//
// # Failure semantics
//
// Parsing is strict: any other line in a ```sh block, a comment before the
// first command, a bad exit status or an unterminated block or here
// document is an error naming the README line. [Load] turns such an error
// into a test failure, so a README cannot silently drift away from what
// its test checks.
//
// The package runs nothing itself: each example's test calls its own
// program's run function with [Case.Args] and [Case.Input], then hands the
// results to [Case.Check]. Program-specific checks stay in the caller.
package readmetest
