// Package stevedore is the Go binding of Stevedore, a daemonless OCI image
// toolkit: copy, inspect and fetch container images through libstevedore's
// C ABI.
//
// The package compiles against its own copy of the header (stevedore.h, kept
// equal to include/stevedore.h by the Rust tests) and links libstevedore
// found through pkg-config, as scripts/install.sh installs it:
//
//	scripts/install.sh /opt/stevedore
//	PKG_CONFIG_PATH=/opt/stevedore/lib/pkgconfig go build   # not needed for /usr/local
//
// Linked statically (no libstevedore.so needed at run time), with the
// stevedore_static build tag, which uses stevedore-static.pc:
//
//	PKG_CONFIG_PATH=/opt/stevedore/lib/pkgconfig go build -tags stevedore_static
package stevedore

/*
#cgo CFLAGS: -I${SRCDIR}
#include "stevedore.h"
*/
import "C"

import "fmt"

// ABIVersion is the ABI this binding is written for.
const ABIVersion = 6

func init() {
	if v := uint32(C.stevedore_abi_version()); v != ABIVersion {
		panic(fmt.Sprintf("libstevedore has ABI version %d, this binding needs %d", v, ABIVersion))
	}
}

// Version is the library's version.
func Version() string { return C.GoString(C.stevedore_version()) }
