package evalctx

import "fmt"

// Kind names the kind of entity a context describes, such as "user",
// "organization" or "device". Kinds are case-sensitive.
type Kind string

const (
	// DefaultKind is the kind of a context built without one, and of every
	// context read from the old user JSON format.
	DefaultKind Kind = "user"
	// MultiKind is the kind of every multi-kind context. It is not valid as
	// the kind of a single context.
	MultiKind Kind = "multi"
)

// validateKind checks the kind of a single context: not "kind", not
// "multi", only ASCII letters, digits, '.', '_' and '-'. An empty kind means
// DefaultKind.
func validateKind(k Kind) (Kind, error) {
	switch k {
	case "":
		return DefaultKind, nil
	case MultiKind:
		return k, fmt.Errorf("%w %q: it is reserved for multi-kind contexts", ErrInvalidKind, k)
	case "kind":
		return k, fmt.Errorf("%w %q: a kind may not be named \"kind\"", ErrInvalidKind, k)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return k, fmt.Errorf("%w %q: only letters, digits, '.', '_' and '-' are allowed", ErrInvalidKind, k)
		}
	}
	return k, nil
}
