/// The version written into every file simba makes.
public enum SimbaVersion {
    public static let current = "0.1.0"
}
