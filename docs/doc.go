// Package docs holds the user documentation (Markdown); its test checks that every
// relative link and anchor in README.md, the other top-level pages and docs/*.md resolves.
package docs
