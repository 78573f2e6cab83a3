package evalctx

// commonKind returns the shared copy of a well-known kind (a string
// constant), so that comparing it with the same kind in a decoded flag
// (whose decoder shares such words too) or with [DefaultKind] finds equal
// pointers and reads no bytes; any other kind is returned as it is.
func commonKind(k Kind) Kind {
	switch k {
	case DefaultKind:
		return DefaultKind
	case "organization":
		return "organization"
	case "device":
		return "device"
	case "service":
		return "service"
	}
	return k
}
