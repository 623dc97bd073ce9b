"""Reading callgrind's output files, for the benchmark (instructions per forwarded signal, heap
allocations) and for Tests/Integration/reliability/test_allocations.py: one parser for both."""

# The allocator's entry points whose calls count as heap allocations.
MALLOC_FUNCTIONS = ("malloc", "calloc", "realloc", "aligned_alloc", "posix_memalign", "memalign")


def parse(path):
    """(total instructions or None, {called function: calls}). Function names are compressed
    ("fn=(12) name" once, "(12)" after); "calls=N" follows a "cfn=" line."""
    names, calls, callee, total = {}, {}, None, None
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                key, _, rest = line.rstrip("\n").partition("=")
                ident, _, name = rest.partition(" ")
                if name:
                    names[ident] = name
                if key == "cfn":
                    callee = names.get(ident)
            elif line.startswith("calls=") and callee:
                calls[callee] = calls.get(callee, 0) + int(line[6:].split()[0])
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    return total, calls


def allocations(calls):
    """How many calls of malloc and its kin `calls` (parse's second half) holds."""
    return sum(calls.get(name, 0) for name in MALLOC_FUNCTIONS)
