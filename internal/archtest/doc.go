// Package archtest holds the tree's structural rules as tests: which
// package may import which, and how large an interface may grow. The rules
// are those docs/architecture.md describes; a change that breaks one is
// either wrong or a change of the architecture, and then the document and
// the rule change together.
package archtest
