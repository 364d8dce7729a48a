package probe

// FieldError is a problem with one field of a check's definition. Field is
// the config key (url, resolver, ca_file, max_body ...): the config reports
// it at that key's line, the CLI names the flag that sets it. Messages
// never contain secrets.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }
