//go:build stevedore_static

package stevedore

// Links libstevedore.a through pkg-config (stevedore-static.pc), with the
// stevedore_static build tag: no libstevedore.so is needed at run time.

// #cgo pkg-config: stevedore-static
import "C"
