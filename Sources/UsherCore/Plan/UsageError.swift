/// A usage or configuration error: usher prints `usher: <message>` and exits with status 2,
/// before anything is started.
public struct UsageError: Error, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
