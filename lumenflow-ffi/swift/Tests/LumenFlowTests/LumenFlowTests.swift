// A first check of the Swift bindings for machines with a Swift toolchain (`swift test`).
// The full cross-language suite runs in Kotlin over the same generated API
// (lumenflow-ffi/kotlin/test); CI has no Swift toolchain and checks the C layer instead
// (scripts/swift-package.sh --check).
import Foundation
import XCTest
@testable import LumenFlow

final class LumenFlowTests: XCTestCase {
    let policy = """
    version: 1
    name: agent
    default: deny
    rules:
      - id: shell
        effect: allow
        when: action.tool == "bash"
      - id: no-force-push
        effect: deny
        when: action.tool == "bash" && shell.invokes(action.args.command, "git push --force|-f")
        reason: force pushes rewrite shared history
    """

    func testDecideRecordVerify() throws {
        let policies = PolicySet(layers: [try Policy.fromYaml(text: policy, origin: "agent.yaml")])
        let key = try KeyPair.generate()
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("lumenflow-\(UUID().uuidString)").path
        let gov = try Governor.open(dir: dir, policies: policies, key: key)

        let ok = try gov.decide(action: try Action(json: #"{"tool": "bash", "args": {"command": "ls"}}"#))
        XCTAssertTrue(ok.allowed)
        _ = try gov.record(decision: ok.id, outcome: Outcome(status: .success, output: Data("a\n".utf8)))

        let push = try gov.decide(action: try Action(json: #"{"tool": "bash", "args": {"command": "git push -f"}}"#))
        XCTAssertEqual(push.decision.effect, .deny)
        XCTAssertEqual(push.decision.decidingRules, [RuleRef(policy: "agent", rule: "no-force-push")])

        let checkpoint = try gov.checkpoint()
        try gov.shutdown()
        let report = try verify(path: dir, trustedKeys: [key.publicPem()], checkpointJson: checkpoint?.json)
        XCTAssertEqual(report.exitCode, 0, report.json)
        XCTAssertEqual(report.integrity, .valid)
    }

    func testErrorsAreTyped() {
        XCTAssertThrowsError(try Action(json: "not json")) { error in
            guard case LumenFlowError.Action(let message) = error else {
                return XCTFail("expected LumenFlowError.Action, got \(error)")
            }
            XCTAssertTrue(message.contains("invalid action"), message)
        }
        XCTAssertThrowsError(try Policy.fromYaml(text: "version: 1\nrules: [", origin: "bad.yaml")) { error in
            guard case LumenFlowError.Policy(let message) = error else {
                return XCTFail("expected LumenFlowError.Policy, got \(error)")
            }
            XCTAssertTrue(message.hasPrefix("bad.yaml"), message)
        }
    }
}
