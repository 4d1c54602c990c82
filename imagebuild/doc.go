// Package imagebuild builds images from Dockerfiles: `berth build`.
//
// Parsing is BuildKit's: moby/buildkit's frontend/dockerfile/parser,
// instructions and shell packages, the code `docker build` itself runs,
// so line continuations, the escape directive, heredocs (RUN <<EOF),
// JSON and shell forms, ${VAR:-default} and friends, ARG before FROM and
// every instruction's flags behave exactly as in Docker; .dockerignore
// is moby/patternmatcher's (with ! exceptions), also Docker's own. The
// choice was weighed against a parser of our own: those packages add
// about 4 MB to the berth binary (protobuf comes in through BuildKit's
// error stacks) and 45 packages, and they raise a few shared modules
// (golang.org/x/crypto and x/net, runtime-spec 1.3, klauspost/compress)
// to the versions BuildKit requires; in exchange a user's Dockerfile
// is read the way Docker reads it, with BuildKit's own error messages,
// and berth keeps no copy of a grammar full of corner cases. Nothing
// else of BuildKit is used: no LLB, no solver, no daemon.
//
// Errors of a Dockerfile are *Error values, "FILE:LINE: message", in
// errdefs.ErrInvalid.
//
// Build runs the stages in order up to the target: every step's result
// is an image in the store (marked intermediate), which is the layer
// cache: a step's key is the parent image, the instruction after
// expansion, the build args in scope and, for COPY and ADD, a digest of
// the files' names, modes, owners and contents (not their times). RUN
// runs through the consumer's Runner (in berth: a container and its
// transient unit, exactly as `berth run`), and the container's overlay
// upper directory becomes the step's layer, its overlayfs whiteouts
// written as OCI whiteouts. Metadata instructions only change the
// config (history entries with empty_layer).
//
// It imports imagestore, machine (for LayersFS) and BuildKit's parser
// packages; never cmd, D-Bus or systemd.
package imagebuild
