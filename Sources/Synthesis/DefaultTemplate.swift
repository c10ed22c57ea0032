import Foundation

/// The default anatomy: Colin27 (skull-stripped) with the AAL atlas, as
/// installed by Debian's `mricron-data`. SIMBA_TEMPLATE_DIR points elsewhere
/// (a cluster without root can unpack the package's files anywhere).
public enum DefaultTemplate {
    public static let debianDirectory = "/usr/share/mricron/templates"
    public static let imageFile = "ch2bet.nii.gz"
    public static let labelFile = "aal.nii.gz"
    public static let namesFile = "aal.nii.txt"

    public static var directory: String {
        ProcessInfo.processInfo.environment["SIMBA_TEMPLATE_DIR"] ?? debianDirectory
    }

    public static var files: [String] {
        [imageFile, labelFile, namesFile].map { (directory as NSString).appendingPathComponent($0) }
    }

    public static var missingFiles: [String] {
        files.filter { !FileManager.default.isReadableFile(atPath: $0) }
    }

    public static var isInstalled: Bool { missingFiles.isEmpty }
}

extension DefaultTemplate {
    /// Paths of the default image, labels and names, or an error that says
    /// how to install them.
    public static func paths() throws -> (image: String, labels: String, names: String) {
        let missing = missingFiles
        guard missing.isEmpty else {
            throw AnatomyError("the default template (Colin27 + AAL) is not installed: missing "
                + missing.joined(separator: ", ")
                + "; install Debian's mricron-data (apt-get install mricron-data) or set SIMBA_TEMPLATE_DIR")
        }
        let all = files
        return (all[0], all[1], all[2])
    }
}
