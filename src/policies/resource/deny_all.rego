# Nothing is released.
package policy

import rego.v1

default allow := false
