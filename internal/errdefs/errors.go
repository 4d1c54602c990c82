package errdefs

import "errors"

// The classes. Keep the set small: a new class is only worth it when a
// caller does something different for it.
var (
	// ErrNotFound: the named object (image, layer, container) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the object exists; for content addresses this is
	// usually success and callers treat it so.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: the input is malformed or refused (bad reference, hostile
	// tar entry, digest mismatch).
	ErrInvalid = errors.New("invalid argument")
	// ErrConflict: the operation conflicts with the state (image in use,
	// ambiguous ID prefix).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: a service berth needs (systemd, D-Bus, a registry)
	// cannot be reached.
	ErrUnavailable = errors.New("unavailable")
)

// IsNotFound reports whether err is of class ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsInvalid reports whether err is of class ErrInvalid.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// IsConflict reports whether err is of class ErrConflict.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsAlreadyExists reports whether err is of class ErrAlreadyExists.
func IsAlreadyExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }
