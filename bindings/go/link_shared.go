//go:build !stevedore_static

package stevedore

// Links libstevedore.so through pkg-config (stevedore.pc). The link flags
// live in a file of their own, selected by the build tag, so that Go's build
// cache tells a shared build from a static one.

// #cgo pkg-config: stevedore
import "C"
