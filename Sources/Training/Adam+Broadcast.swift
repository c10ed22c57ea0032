import Cluster
import Network

extension Adam {
    /// Hands both moments and the update count from `root` to every rank of
    /// `world`, in place (the travelling model's carrier after a visit).
    func broadcast(from root: Int, over world: Communicator) throws {
        for tensor in [firstMoment, secondMoment] {
            try world.broadcast(UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count), root: root)
        }
        try restore(step: try world.broadcast(step, root: root))
    }
}
