import CUsher

/// usher moves to `/` once it has noted where it was started, so that it does not keep that
/// directory's mount busy for its whole life (as dumb-init and catatonit do); children without a
/// working directory of their own still start there (`Launch.startDirectory`).
func leaveStartDirectory() {
    guard Launch.startDirectory == nil else { return }
    var buffer = [CChar](repeating: 0, count: 4097)
    guard getcwd(&buffer, buffer.count) != nil else { return }  // gone or too long: stay
    let here = buffer.withUnsafeBufferPointer { OSString.decode(cString: $0.baseAddress!) }
    guard !same(here, "/"), chdir("/") == 0 else { return }
    Launch.startDirectory = here
}
