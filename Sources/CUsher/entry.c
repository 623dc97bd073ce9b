// The process's entry: main (in the release binary), argc and argv, environ, and the commit
// the binary was built from. See "The process's entry" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"

#ifndef USHER_COMMIT
#define USHER_COMMIT "unknown, a development build"  // swift build: SwiftPM passes no commit
#endif
const char *cusher_build_commit(void) { return USHER_COMMIT; }

static int saved_argc;
static char **saved_argv;
#ifdef USHER_C_MAIN
// The release binary (make static, on musl): musl calls ELF constructors with no arguments, so
// the shim owns the process's entry instead. The Makefile compiles this file with USHER_C_MAIN
// and main.swift with -entry-point-function-name usher_swift_main; this main keeps argc/argv
// and runs Swift's top-level code. (Not in the normal build: CUsher is linked into the test and
// fuzz binaries too, which have a main of their own.)
int usher_swift_main(int argc, char **argv);
int main(int argc, char **argv) {
    saved_argc = argc;
    saved_argv = argv;
    return usher_swift_main(argc, argv);
}
#else
// The normal (development) build, on glibc, which passes (argc, argv, envp) to ELF
// constructors: Swift's CommandLine is not there in Embedded mode, so both modes read argv here.
__attribute__((constructor)) static void cusher_save_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
#endif
int cusher_argc(void) { return saved_argc; }
char **cusher_argv(void) { return saved_argv; }

extern char **environ;
char **cusher_environ(void) { return environ; }
