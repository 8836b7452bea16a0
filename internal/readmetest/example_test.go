package readmetest_test

import (
	"fmt"

	"github.com/ucxkit/ucxkit/internal/readmetest"
)

func ExampleParse() {
	readme := "```sh\necho 'classify 1515' | go run ./examples/numplan -plan plan.json\n# exit status 0\n```\n\n" +
		"```json\n{\"key\":\"1515\"}\n```\n"
	cases, err := readmetest.Parse(readme, "./examples/numplan")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cases {
		fmt.Printf("line %d: args %q, stdin %q, exit %d, stdout %q\n", c.Line, c.Args, c.Stdin, c.Exit, *c.Stdout)
	}
	// Output:
	// line 2: args ["-plan" "plan.json"], stdin "classify 1515\n", exit 0, stdout "{\"key\":\"1515\"}\n"
}
