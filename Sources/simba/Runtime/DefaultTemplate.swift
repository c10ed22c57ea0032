import Foundation

/// The default anatomy: Colin27 (skull-stripped) with the AAL atlas, as
/// installed by Debian's `mricron-data`. SIMBA_TEMPLATE_DIR points elsewhere
/// (a cluster without root can unpack the package's files anywhere).
enum DefaultTemplate {
    static let debianDirectory = "/usr/share/mricron/templates"
    static let imageFile = "ch2bet.nii.gz"
    static let labelFile = "aal.nii.gz"
    static let namesFile = "aal.nii.txt"

    static var directory: String {
        ProcessInfo.processInfo.environment["SIMBA_TEMPLATE_DIR"] ?? debianDirectory
    }

    static var files: [String] {
        [imageFile, labelFile, namesFile].map { (directory as NSString).appendingPathComponent($0) }
    }

    static var missingFiles: [String] {
        files.filter { !FileManager.default.isReadableFile(atPath: $0) }
    }

    static var isInstalled: Bool { missingFiles.isEmpty }
}
