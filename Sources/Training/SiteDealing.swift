import Randomness
import Synthesis

extension TrainingConfig {
    /// Gives a dataset's samples (every split) the sites the site
    /// strategies train on: `sites` deals every sample round-robin by index;
    /// `site_samples` shuffles the training samples (seeded by the training
    /// seed, so replicates also redraw the sites) and deals them into sites
    /// of that many, validation and test samples keeping the dataset's
    /// sites; partition bias_group makes each bias group a site. Otherwise
    /// the dataset's sites stand.
    func dealSites(_ samples: inout [SampleRecord]) {
        if sites > 0 {
            for i in samples.indices { samples[i].site = samples[i].index % sites }
        }
        if siteSamples > 0 {
            var order = samples.indices.filter { samples[$0].split == .train }
            var generator = SeededGenerator(seed: seed, stream: 0, "tiny sites")
            order.deterministicShuffle(using: &generator)
            for (position, i) in order.enumerated() { samples[i].site = position / siteSamples }
        }
        if partition == .biasGroup {
            for i in samples.indices { samples[i].site = samples[i].group }
        }
    }
}
