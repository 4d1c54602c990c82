// Command bench measures, inside the testbed and in one run, how long it
// takes to build a 10-step Dockerfile with berth and with buildah, how
// long it takes to start a trivial container with berth and with the peers
// a user would pick instead, and how much resident memory an idle
// container adds.
// `make bench` builds it to bin/runbench and runs it in a fresh testbed.
//
//	runbench -berth bin/berth -image bin/images/busybox.tar [-docker /usr/local/bin/docker] [-n 100] [-warmup 5] [-phases 20]
//	         [-cold-builds 5] [-cached-builds 10] [-pulls 5] [-apps 10] [-only builds|pulls|apps|runs]
//	         [-doc docs/BENCHMARKS.md] [-rev REV]
//
// The builds come first (build.go): one unmeasured build by each builder,
// then -cold-builds builds with --no-cache and -cached-builds with nothing
// changed, round-robin, of the same context with berth build and buildah
// bud --layers (podman build's builder), after which both images must
// print the same file. With -doc they rewrite the build-bench block.
//
// The pulls come next (pull.go): a 200 MiB, 5-layer gzip image made on the
// spot (the same bytes every time) is pushed with skopeo to Debian's
// docker-registry on 127.0.0.1:5000, a transient unit, and pulled and
// unpacked by berth pull, skopeo copy + umoci unpack and podman pull, and
// the floor untars the same layer blobs; one unmeasured round, then -pulls
// rounds, round-robin, each run starting from an empty store. With -doc
// they rewrite the pull-bench block.
//
// Then `berth up` of a three-service app (app.go), -apps times after one
// unmeasured run, each from nothing; with -doc the apps-bench block.
//
// The commands, each run -warmup times and then -n times, round-robin (the
// order rotates every round) so that drift hits all of them alike:
//
//	systemd-run -P -q true                      the floor: a transient unit, no container
//	berth run --rm --network none busybox true  attached: waits for exit, output through the journal
//	berth run -d --rm --network none busybox true  detached: returns once the unit is started
//	podman run --rm --runtime crun --network none localhost/busybox true
//	docker run --rm --network none busybox true  with -docker: the docker CLI through berth's
//	                                            Engine API (berth system service, a unit, on a
//	                                            socket of the bench's), the same container as berth run's
//	crun run --bundle DIR ID                    an unpacked bundle, no image store, no unit
//	berth run --rm -p 18080:80 busybox true     the default bridge and a published port
//	podman run --rm --runtime crun -p 18081:80 localhost/busybox true
//
// All of them use the same busybox rootfs (contrib/images): berth and podman
// import the same tarball, and crun's bundle is the tarball unpacked. None has
// network beyond loopback. Between two measured commands it waits, untimed,
// for the previous one's asynchronous cleanup (berth's --rm removal, podman's
// `container cleanup`) to finish, so that it does not bill the next command.
//
// It prints p50 and p90 of each, their ratios to the floor, berth's
// speed-up over podman and what docker run through berth's API costs
// over berth run. Then it runs the floor and the attached berth run
// -phases times more each and splits every run at its unit's job messages
// in the journal (Starting, Started, Deactivated), to show where berth's
// time goes. Last comes the memory an idle `sleep 1000` container adds
// besides its own process: for berth, every process left in its unit's
// cgroup outside the container's PID namespace (there should be none); for
// podman, conmon. With -doc it rewrites the generated block of that file
// (between its run-bench markers, appended when missing) with the same
// numbers, the versions and the machine; the prose around it is left alone.
//
// Everything it sets up is removed before it exits: the containers, the
// image podman imported, the tmpfs it mounts for podman's storage (the
// testbed's root is an overlay, and overlayfs cannot stack on it) and the
// bundle. It refuses to run outside a testbed, and exits non-zero without
// printing numbers when any command fails.
//
// bin/berth may be rebuilt by someone else while a bench runs, so it runs a
// private copy, taken at the start with berth-nsinit and berth-unit beside it, and
// reports that copy's version.
package main
