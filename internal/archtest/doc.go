// Package archtest holds no code: its test checks the import rules of
// the design (README "Layout"), so that a wrong import fails CI instead of
// eroding the layering.
package archtest
