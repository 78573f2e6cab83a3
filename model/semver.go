package model

import (
	"cmp"
	"strings"
)

// SemVer is a semantic version (semver.org 2.0) as LaunchDarkly's semver
// operators read it. Build metadata is dropped: it never affects
// precedence.
type SemVer struct {
	// Major, Minor and Patch are the version numbers (missing ones are 0).
	Major, Minor, Patch int
	// Prerelease is the dot-separated pre-release part without its '-',
	// or "" for a release.
	Prerelease string
}

// ParseSemVer parses s leniently, as LaunchDarkly does: the minor and patch
// numbers may be omitted ("2" and "2.0" mean 2.0.0) and build metadata is
// accepted and ignored. Everything else follows semver.org: numbers have no
// leading zeros, no "v" prefix, exactly one to three numeric parts,
// pre-release and build identifiers are non-empty runs of [0-9A-Za-z-],
// and numeric pre-release identifiers have no leading zeros. It never
// allocates.
func ParseSemVer(s string) (SemVer, bool) {
	var v SemVer
	i := 0
	var ok bool
	// Up to three numeric components; the first is required.
	v.Major, i, ok = semverNumber(s, i)
	if !ok {
		return SemVer{}, false
	}
	if i < len(s) && s[i] == '.' {
		v.Minor, i, ok = semverNumber(s, i+1)
		if !ok {
			return SemVer{}, false
		}
		if i < len(s) && s[i] == '.' {
			v.Patch, i, ok = semverNumber(s, i+1)
			if !ok {
				return SemVer{}, false
			}
		}
	}
	if i < len(s) && s[i] == '-' {
		start := i + 1
		end := start
		for end < len(s) && s[end] != '+' {
			end++
		}
		if !validIdentifiers(s[start:end], true) {
			return SemVer{}, false
		}
		v.Prerelease = s[start:end]
		i = end
	}
	if i < len(s) && s[i] == '+' {
		if !validIdentifiers(s[i+1:], false) {
			return SemVer{}, false
		}
		i = len(s)
	}
	if i != len(s) {
		return SemVer{}, false
	}
	return v, true
}

// semverNumber reads a numeric component starting at i: one or more digits,
// no leading zero unless the number is 0.
func semverNumber(s string, i int) (n, next int, ok bool) {
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	switch {
	case i == start:
		return 0, i, false
	case s[start] == '0' && i-start > 1:
		return 0, i, false
	}
	return n, i, true
}

// validIdentifiers checks a dot-separated list of identifiers.
func validIdentifiers(s string, prerelease bool) bool {
	if s == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
			continue
		}
		id := s[start:i]
		if id == "" {
			return false
		}
		if prerelease && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return false
		}
		start = i + 1
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Compare returns -1, 0 or 1 as v has lower, equal or higher precedence than
// o. A release outranks its pre-releases; pre-release identifiers compare
// numerically when both are numeric, numeric ones rank below others, and a
// longer list of otherwise equal identifiers ranks higher.
func (v SemVer) Compare(o SemVer) int {
	if c := cmp.Compare(v.Major, o.Major); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Minor, o.Minor); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Patch, o.Patch); c != 0 {
		return c
	}
	switch {
	case v.Prerelease == "" && o.Prerelease == "":
		return 0
	case v.Prerelease == "":
		return 1
	case o.Prerelease == "":
		return -1
	}
	a, b := v.Prerelease, o.Prerelease
	for {
		if a == "" || b == "" {
			switch {
			case a == "" && b == "":
				return 0
			case a == "":
				return -1
			default:
				return 1
			}
		}
		var x, y string
		x, a = nextIdentifier(a)
		y, b = nextIdentifier(b)
		if c := compareIdentifier(x, y); c != 0 {
			return c
		}
	}
}

func nextIdentifier(s string) (id, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func compareIdentifier(x, y string) int {
	xn, yn := numericIdentifier(x), numericIdentifier(y)
	switch {
	case xn && yn:
		// No leading zeros, so a longer number is larger.
		if c := cmp.Compare(len(x), len(y)); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	case xn:
		return -1
	case yn:
		return 1
	}
	return strings.Compare(x, y)
}

// numericIdentifier reports whether a pre-release identifier counts as a
// number: all digits and no leading zero.
func numericIdentifier(s string) bool {
	return s != "" && allDigits(s) && (len(s) == 1 || s[0] != '0')
}
