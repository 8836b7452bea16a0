// Package numplan is a numbering-plan normalizer for unified-communications
// applications: it turns the numbers a PBX reports (caller numbers, called
// numbers in TAPI events) into directory lookup keys, and directory numbers
// into dial strings, following the "Numbering Plan" system parameters
// (internal patterns, local country code, international prefix, incoming
// and outgoing prefixes, suffix, E.164 dialling, TAPI prefix stripping).
//
// # Patterns
//
// Internal patterns are written in one of three dialects (Config.
// PatternDialect): Cisco Unified CM directory-number syntax (the default),
// Asterisk extension syntax, or RE2 regular expressions, always matched
// against the whole number; "len:MIN-MAX" (all-digit numbers of MIN to MAX
// digits) works in every dialect. Compile turns every pattern into a
// deterministic automaton over the alphabet 0-9 * # + A-D and combines
// them into one automaton, so classifying a number costs one table lookup
// per symbol whatever the number of patterns, without allocating. In
// "first" mode the first matching pattern wins (the list is checked
// top-down); in "closest" mode the pattern that matches the fewest numbers
// of the dialled length wins (Cisco closest match; ties go to the earlier
// pattern). Plan.Lint reports patterns that can never win in first mode.
//
// # Pipeline
//
// Every operation starts by sanitizing (Sanitize): trim, drop separators,
// strip tel:/sip: URIs (RFC 3966, RFC 3261) and split an extension, map
// Unicode digits. Empty and withheld numbers are kind "anonymous".
//
// In (caller number): the internal check comes first (an internal number
// is never parsed as a phone number), then the emergency check, then the
// incoming prefix is stripped, then the configured international prefix
// becomes "+" (before any parsing, so the PBX's redial 0 in front of an
// Italian 06 number is not read as the 00 of an Australian one), then the
// legacy key is the number with the literal local country code stripped,
// and the key is the E.164 form (ITU-T E.164) when the number is valid
// in the libphonenumber metadata for the region of the local country code.
// A number that is not valid is kind "unknown" and keeps its digits as key:
// no E.164 is ever guessed, and a country code is never stripped unless a
// "+" or an international prefix precedes it (except the NANP "1", which
// is also the trunk prefix).
//
// TAPI (called number of an outgoing call): with tapi_includes_prefix the
// outgoing prefix and suffix are stripped first; then as In without the
// incoming prefix. An emergency number is dialled without the access code,
// so when the stripped number is neither internal nor an emergency number
// but the number as reported is an emergency number ("999" with prefix
// 9), it is kind service. Normalize (directory numbers) is In without the incoming
// prefix and is idempotent on keys.
//
// Out (directory number to dial string): internal numbers (checked first,
// so the rule is reported), emergency numbers and the user's primary
// extension are dialled as they are; with
// e164_dialing valid external numbers are dialled "+E.164" plus suffix;
// otherwise numbers of the local country get their national form and
// foreign ones the international prefix, the country code and the national
// significant number; then the outgoing prefix and suffix are added.
//
// Every Result carries its kind, the matched rule, and with Plan.Explain a
// trace of each step and why it did what it did.
//
// # Guarantees and failures
//
// Config.Validate reports every bad field at once as *FieldError values
// named by JSON path ("internal_patterns[2]: at byte 3: ..."). Numbers that
// are not numbers give Result.Err (a *NumberError wrapping
// ErrInvalidNumber); the package never panics on input. Each call parses
// at most once with phonenumbers; an optional bounded cache (Options.
// CacheSize) serves repeated numbers without parsing. A Plan and an Index
// are safe for concurrent use.
//
// # What it does not do
//
// It does not route calls, apply Cisco digit-discard instructions other
// than the prefix and suffix parameters, support the route-pattern "." and
// "@" tokens, or look numbers up in external directories. Validity follows
// the phonenumbers v1.8.1 metadata, which ages: ranges opened later are
// "unknown" until the module is updated.
package numplan
