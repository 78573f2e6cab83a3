package model

// common returns the shared copy of one of the schema's well-known words
// (operators, the usual context kinds, LaunchDarkly's built-in attributes,
// rollout kinds), which decoded items use in place of a copy of their own:
// a clause's "op":"in" or "attribute":"email" then costs no memory per flag.
// The result is the constant, never s (which may be a view of a document).
func common(s string) (string, bool) {
	switch s {
	// Operators.
	case "in":
		return "in", true
	case "endsWith":
		return "endsWith", true
	case "startsWith":
		return "startsWith", true
	case "matches":
		return "matches", true
	case "contains":
		return "contains", true
	case "lessThan":
		return "lessThan", true
	case "lessThanOrEqual":
		return "lessThanOrEqual", true
	case "greaterThan":
		return "greaterThan", true
	case "greaterThanOrEqual":
		return "greaterThanOrEqual", true
	case "before":
		return "before", true
	case "after":
		return "after", true
	case "semVerEqual":
		return "semVerEqual", true
	case "semVerLessThan":
		return "semVerLessThan", true
	case "semVerGreaterThan":
		return "semVerGreaterThan", true
	case "segmentMatch":
		return "segmentMatch", true
	// Context kinds and rollout kinds.
	case "user":
		return "user", true
	case "organization":
		return "organization", true
	case "device":
		return "device", true
	case "service":
		return "service", true
	case "rollout":
		return "rollout", true
	case "experiment":
		return "experiment", true
	// Built-in and common attributes.
	case "key":
		return "key", true
	case "kind":
		return "kind", true
	case "name":
		return "name", true
	case "email":
		return "email", true
	case "country":
		return "country", true
	case "ip":
		return "ip", true
	case "firstName":
		return "firstName", true
	case "lastName":
		return "lastName", true
	case "avatar":
		return "avatar", true
	case "anonymous":
		return "anonymous", true
	case "secondary":
		return "secondary", true
	case "groups":
		return "groups", true
	case "plan":
		return "plan", true
	case "version":
		return "version", true
	}
	return "", false
}
