package numplan_test

import (
	"fmt"

	"github.com/ucxkit/ucxkit/numplan"
)

func Example() {
	plan, err := numplan.Compile(numplan.Config{
		InternalPatterns:    []string{"2XXX", "len:1-3"},
		LocalCountryCode:    "+44",
		InternationalPrefix: "00",
		IncomingPrefix:      "9",
		OutgoingPrefix:      "9",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	in := plan.In("9 020 7946 0123")
	fmt.Println(in.Kind, in.Key, in.LegacyKey)
	fmt.Println(plan.In("2001").Kind)
	fmt.Println(plan.Out("+39 06 1234 5678", "").Dial)
	fmt.Println(plan.Out("+44 20 7946 0123", "").Dial)
	fmt.Println(plan.Out("999", "").Dial)
	// Output:
	// external +442079460123 02079460123
	// internal
	// 900390612345678
	// 902079460123
	// 999
}

func ExamplePlan_Lint() {
	plan, _ := numplan.Compile(numplan.Config{InternalPatterns: []string{"2XXX", "3XXX", "[23]0XX"}})
	for _, f := range plan.Lint() {
		fmt.Println(f.Message)
	}
	// Output:
	// rule 2 "[23]0XX" can never match in first mode: every number it matches is matched by earlier rule 0 "2XXX", 1 "3XXX"
}

func ExampleConfig_Validate() {
	err := numplan.Config{
		InternalPatterns:    []string{"2XXX", "+44!", "[1,2]X"},
		LocalCountryCode:    "+44,+39",
		InternationalPrefix: "+1",
	}.Validate()
	fmt.Println(err)
	// Output:
	// local_country_code: must be one country code, got "+44,+39"
	// international_prefix: must be digits, got "+1" (a leading + is a country code, not a prefix; the NANP international prefix is 011)
	// internal_patterns[1]: at byte 0: a leading '+' repeats nothing; use \+ for a literal plus (\+44!) (pattern "+44!")
	// internal_patterns[2]: at byte 2: comma inside brackets; list the members without separators ([135], [1-5]) (pattern "[1,2]X")
}

func ExampleIndex() {
	plan, _ := numplan.Compile(numplan.Config{LocalCountryCode: "+39", InternationalPrefix: "00", IncomingPrefix: "0"})
	ix := plan.NewIndex(0)
	_, _ = ix.Add("rossi", "06 1234 5678")
	_, _ = ix.Add("bianchi", "+39 393 123 4567")
	for _, m := range ix.LookupIn("00612345678") {
		fmt.Println(m.ID, m.Key, m.Weak)
	}
	// Output:
	// rossi +390612345678 false
}
