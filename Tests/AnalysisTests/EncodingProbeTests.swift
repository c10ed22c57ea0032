import XCTest
@testable import Analysis

final class EncodingProbeTests: XCTestCase {
    /// Labels encoded along a direction spread over 20 of 300 noise features
    /// (class means 2·0.6·√20 ≈ 5.4 noise SDs apart): a linear probe must find it.
    func testLinearlyEncodedLabelIsFoundByCrossValidation() throws {
        var data = TestData(seed: 51)
        let n = 120, d = 300
        let labels = (0..<n).map { $0 % 2 }
        var values = data.noiseFeatures(rows: n, columns: d)
        for i in 0..<n { for j in 0..<20 { values[i * d + j] += labels[i] == 1 ? 0.6 : -0.6 } }
        let result = try EncodingProbe().evaluate(features: try FeatureMatrix(rowCount: n, columnCount: d, values: values),
                                                  labels: labels)
        XCTAssertGreaterThan(result.crossValidatedAccuracy!, 0.9)
        XCTAssertEqual(result.crossValidatedCount, n)
        XCTAssertEqual(result.foldCount, 5)
        XCTAssertEqual(result.foldAccuracies.count, 5)
        XCTAssertEqual(result.unconvergedFits, 0)
        XCTAssertTrue(result.isAboveChance())
        XCTAssertLessThan(result.aboveChanceTest!.pValue, 1e-10)
        XCTAssertEqual(result.chance.majorityShare, 0.5)
        // The label direction carries the most variance, so PC 1 alone separates well.
        XCTAssertGreaterThan(result.singleComponents[0].crossValidatedAccuracy!, 0.85)
        XCTAssertEqual(result.singleComponents.count, 5)
    }

    /// The probe's fit-set path against sklearn on the same Float32 data:
    ///   pca = PCA(n_components=0.99).fit(X); Z = pca.transform(X)
    ///   LogisticRegression(tol=1e-12, max_iter=10000).fit(Z, y)
    /// (numpy default_rng(3), X = round(normal(24, 6)·[3, 2, 1.5, 1, 0.5, 0.2] + 5, 2),
    /// sklearn 1.9.1). Coefficients are compared in absolute value because
    /// component signs are arbitrary; probabilities and the intercept do not
    /// depend on them.
    func testPrincipalComponentsThenLogisticRegressionMatchSklearn() throws {
        let rows: [[Float]] = [
            [11.12, -0.11, 5.63, 4.43, 4.77, 4.96], [-1.06, 4.54, 3.7, 8.32, 5.11, 4.93], [4.16, 3.66, 3.42, 4.61, 5.24, 4.95],
            [7.87, 4.6, 5.04, 6.55, 5.27, 4.9], [4.45, 6.08, 7.9, 4.73, 4.88, 5.2], [2.34, 4.42, 6.32, 5.58, 5.05, 5.13],
            [-3.48, 7.04, 3.56, 3.33, 5.14, 5.14], [3.67, 2.85, 5.04, 4.95, 5.7, 5.15], [5.58, 7.22, 4.69, 4.07, 5.29, 5.12],
            [4.36, 3.43, 5.34, 2.51, 5.35, 5.1], [0.08, 5.12, 3.55, 5.76, 3.98, 4.82], [7.13, 7.31, 1.76, 4.5, 5.16, 4.88],
            [9.77, 2.62, 5.53, 3.95, 5.7, 5.0], [3.88, 1.56, 7.52, 5.75, 5.38, 5.23], [6.05, 3.72, 3.8, 4.2, 5.69, 4.71],
            [3.21, 4.36, 5.34, 5.58, 4.38, 4.65], [4.99, 7.43, 6.14, 5.22, 4.84, 5.06], [4.27, 6.63, 3.81, 5.13, 4.94, 5.11],
            [5.67, 10.1, 7.25, 6.5, 3.98, 4.93], [3.17, 6.07, 1.58, 6.17, 5.53, 4.74], [2.06, 3.4, 5.06, 5.64, 6.02, 4.96],
            [7.3, 5.31, 7.64, 5.74, 5.68, 4.78], [4.42, 3.37, 7.26, 5.66, 4.85, 4.91], [6.45, 3.6, 3.6, 5.48, 6.23, 4.95],
        ]
        let labels = [0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0]
        let features = try FeatureMatrix(rowCount: 24, columnCount: 6, values: rows.flatMap { $0 })

        let components = try PrincipalComponents(features: features)
        let expectedRatios = [0.5561235695769896, 0.21899867782479138, 0.14709062075741255,
                              0.06519976006085001, 0.011764579542185688]
        XCTAssertEqual(components.componentCount, 5)
        for (actual, expected) in zip(components.explainedVarianceRatio, expectedRatios) {
            XCTAssertEqual(actual, expected, accuracy: 1e-9)
        }

        let model = try LogisticRegression().fit(components.scores, labels: labels)
        let expectedMagnitudes = [0.25005713874545044, 1.2937787790239526, 1.0549548436537661,
                                  0.14827070763532585, 0.46970340311410097]
        for (actual, expected) in zip(model.coefficients, expectedMagnitudes) {
            XCTAssertEqual(abs(actual), expected, accuracy: 1e-6)
        }
        XCTAssertEqual(model.intercept, -0.6276557413754106, accuracy: 1e-6)
        let expectedProbabilities = [
            0.0007971149034681996, 0.12573683238390224, 0.021000214153275472, 0.3348203604022624,
            0.9823947274132575, 0.553209056730768, 0.7256367719456531, 0.03874936184372637,
            0.9204052891502529, 0.08071548112870816, 0.1399972132045555, 0.41035708745440225,
            0.03999128804853442, 0.07253364220813742, 0.034491673430631746, 0.26017573404823363,
            0.9853596859906995, 0.6812934535372643, 0.9998805248315317, 0.11530501139537963,
            0.09379307278238214, 0.9493928137089197, 0.40243417542005944, 0.031529422154383646,
        ]
        for (actual, expected) in zip(model.probabilities(components.scores), expectedProbabilities) {
            XCTAssertEqual(actual, expected, accuracy: 1e-6)
        }
        // Default sklearn (lbfgs, tol 1e-4) stops a little short of this optimum:
        // |coef| [0.250004, 1.293414, 1.054494, 0.148472, 0.470007], intercept −0.627986.
        XCTAssertEqual(model.intercept, -0.6279862458724949, accuracy: 5e-4)

        let probe = try EncodingProbe().evaluate(features: features, labels: labels)
        XCTAssertEqual(probe.fitSetAccuracy, 23.0 / 24, accuracy: 1e-15)
        XCTAssertEqual(probe.fitSetComponentCount, 5)
    }

    /// Pure noise with ~95 components for 100 samples: the probe fits its own
    /// samples nearly perfectly (what the original reports), but held-out
    /// accuracy is at chance and the binomial test does not call it encoded.
    func testNoiseIsAtChanceDespiteHighFitSetAccuracy() throws {
        var data = TestData(seed: 52)
        let n = 100, d = 400
        let labels = (0..<n).map { _ in data.bernoulli(0.5) }
        let features = try FeatureMatrix(rowCount: n, columnCount: d, values: data.noiseFeatures(rows: n, columns: d))
        let result = try EncodingProbe().evaluate(features: features, labels: labels)
        XCTAssertGreaterThan(result.fitSetAccuracy, 0.95)
        XCTAssertGreaterThan(result.fitSetComponentCount, 80)
        XCTAssertEqual(result.unconvergedFits, 0, "Newton converges even on separable fits")
        XCTAssertEqual(result.crossValidatedAccuracy!, result.chance.majorityShare, accuracy: 0.15)
        XCTAssertFalse(result.isAboveChance())
        XCTAssertGreaterThan(result.aboveChanceTest!.pValue, 0.05)
    }

    func testProbeIsDeterministicForASeed() throws {
        var data = TestData(seed: 53)
        let n = 40, d = 30
        let labels = (0..<n).map { _ in data.bernoulli(0.5) }
        let features = try FeatureMatrix(rowCount: n, columnCount: d, values: data.noiseFeatures(rows: n, columns: d))
        XCTAssertEqual(try EncodingProbe(seed: 4).evaluate(features: features, labels: labels),
                       try EncodingProbe(seed: 4).evaluate(features: features, labels: labels))
    }

    /// Constant features carry nothing: no components, and the probe falls
    /// back to the intercept, i.e. the training majority class.
    /// With 4 zeros and 6 ones dealt to 5 folds, the zeros go to folds 0–3
    /// and the ones to folds 4, 0, 1, 2, 3, 4. Folds 0–3 train on 5 ones and
    /// 3 zeros, predict 1 and get 1 of 2 right; fold 4 trains on 4 and 4,
    /// has intercept 0, predicts 0 (ties go to class 0) and gets both ones
    /// wrong: 4 of 10, below chance, the known pessimism of CV for a model
    /// that learns nothing.
    func testConstantFeaturesGiveMajorityClass() throws {
        let labels = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
        let features = try FeatureMatrix(rowCount: 10, columnCount: 6, values: Array(repeating: 1, count: 60))
        let result = try EncodingProbe().evaluate(features: features, labels: labels)
        XCTAssertEqual(result.fitSetComponentCount, 0)
        XCTAssertEqual(result.fitSetAccuracy, 0.6)
        XCTAssertEqual(result.foldComponentCounts, [0, 0, 0, 0, 0])
        XCTAssertEqual(result.foldAccuracies, [0.5, 0.5, 0.5, 0.5, 0])
        XCTAssertEqual(result.crossValidatedAccuracy, 0.4)
        XCTAssertFalse(result.isAboveChance())
        XCTAssertEqual(result.singleComponents.map(\.fitSetAccuracy), Array(repeating: nil, count: 5))
    }

    /// One positive among eight: the fold holding it trains on negatives
    /// only, so that fold predicts the only class it saw instead of failing.
    func testClassAbsentFromATrainingFold() throws {
        var data = TestData(seed: 54)
        let labels = [0, 0, 0, 1, 0, 0, 0, 0]
        let features = try FeatureMatrix(rowCount: 8, columnCount: 5, values: data.noiseFeatures(rows: 8, columns: 5))
        let result = try EncodingProbe().evaluate(features: features, labels: labels)
        XCTAssertEqual(result.crossValidatedCount, 8)
        XCTAssertNotNil(result.crossValidatedAccuracy)
        XCTAssertEqual(result.chance.majorityShare, 7.0 / 8)
    }

    func testFewerSamplesThanFolds() throws {
        var data = TestData(seed: 55)
        let three = try EncodingProbe(folds: 5).evaluate(
            features: try FeatureMatrix(rowCount: 3, columnCount: 4, values: data.noiseFeatures(rows: 3, columns: 4)),
            labels: [0, 1, 1])
        XCTAssertEqual(three.foldCount, 3)
        XCTAssertEqual(three.crossValidatedCount, 3)

        let one = try EncodingProbe().evaluate(
            features: try FeatureMatrix(rowCount: 1, columnCount: 4, values: [1, 2, 3, 4]), labels: [1])
        XCTAssertNil(one.crossValidatedAccuracy)
        XCTAssertNil(one.aboveChanceTest)
        XCTAssertEqual(one.foldCount, 0)
        XCTAssertEqual(one.fitSetAccuracy, 1)
    }

    func testMismatchedInputIsRejected() throws {
        let features = try FeatureMatrix(rowCount: 2, columnCount: 2, values: [1, 2, 3, 4])
        XCTAssertThrowsError(try EncodingProbe().evaluate(features: features, labels: [0]))
        XCTAssertThrowsError(try EncodingProbe().evaluate(features: features, labels: [0, 3]))
        XCTAssertThrowsError(try EncodingProbe(folds: 1).evaluate(features: features, labels: [0, 1]))
    }
}
