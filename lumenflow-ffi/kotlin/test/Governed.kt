// The governed API through the Kotlin bindings: an agent loop (governor, decide, run,
// record, verify), typed errors, policy tests and sharing across threads.
package lumenflow

import java.io.File
import java.nio.file.Files
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

const val POLICY = """
version: 1
name: agent
default: deny
rules:
  - id: reads
    effect: allow
    when: action.tool == "read" && path.within(action.args.path, context.worktree)
  - id: shell
    effect: allow
    when: action.tool == "bash"
  - id: no-force-push
    effect: deny
    when: action.tool == "bash" && shell.invokes(action.args.command, "git push --force|-f")
    reason: force pushes rewrite shared history
  - id: network
    effect: require_approval
    when: action.tool == "http"
    approvers: ["role:lead"]
"""

fun action(tool: String, args: String) = Action("""{"tool": "$tool", "args": $args, "actor": "agent-7", "session": "s-1"}""")

class AgentLoopTest {
    @TempDir
    lateinit var tmp: File

    /** The tool the agent "runs": only ever called for allowed actions. */
    private fun run(a: Action, ran: MutableList<String>): ByteArray {
        ran += a.toJson()
        return "output of ${a.tool()}".toByteArray()
    }

    @Test
    fun `agent loop decides, records and verifies`() {
        val key = KeyPair.generate()
        val policies = PolicySet(listOf(Policy.fromYaml(POLICY, "agent.yaml")))
        val evidence = File(tmp, "evidence").path
        val gov = Governor.open(
            evidence, policies, key,
            GovernorOptions(context = Context("""{"worktree": "/work/repo"}"""), durability = Durability.NONE),
        )
        assertEquals(key.id(), gov.keyId())
        val proposals = listOf(
            action("read", """{"path": "/work/repo/src/main.rs"}"""),
            action("read", """{"path": "/work/repo/../../etc/passwd"}"""),
            action("bash", """{"command": "cargo test"}"""),
            action("bash", """{"command": "git -C repo push -f origin main"}"""),
            action("http", """{"url": "https://example.com"}"""),
            action("bash", """{"command": "false"}"""),
        )
        val ran = mutableListOf<String>()
        val verdicts = mutableListOf<Effect>()
        var denied: Governed? = null
        var pending: Governed? = null
        for ((i, a) in proposals.withIndex()) {
            val g = gov.decide(a)
            verdicts += g.decision.effect
            assertTrue(g.id.contains(':') && g.hash.startsWith("sha256:"), g.id)
            when (g.decision.effect) {
                Effect.ALLOW -> {
                    assertTrue(g.allowed)
                    val out = run(a, ran)
                    val outcome = if (i == 5) Outcome(Status.FAILURE, error = "exit status 1")
                    else Outcome(Status.SUCCESS, output = out, durationMs = 12UL)
                    val rec = gov.record(g.id, outcome)
                    assertEquals("outcome", rec.kind)
                    assertTrue(rec.json.contains("\"decision\":\"${g.id}\""), rec.json)
                }
                Effect.DENY -> { assertFalse(g.allowed); denied = g }
                Effect.REQUIRE_APPROVAL -> { assertEquals(listOf("role:lead"), g.decision.approvers); pending = g }
            }
        }
        assertEquals(
            listOf(Effect.ALLOW, Effect.DENY, Effect.ALLOW, Effect.DENY, Effect.REQUIRE_APPROVAL, Effect.ALLOW),
            verdicts,
        )
        assertEquals(3, ran.size)
        assertEquals(
            "force pushes rewrite shared history",
            denied!!.decision.matched.first { it.rule == "no-force-push" }.reason,
        )
        // A deny is closed at once: recording it again is an evidence error naming it.
        val again = assertThrows(LumenFlowException.Evidence::class.java) {
            gov.record(denied!!.id, Outcome(Status.SUCCESS))
        }
        assertTrue(again.message!!.contains(denied!!.id), again.message)
        assertThrows(LumenFlowException.Evidence::class.java) {
            gov.record("no-such-decision", Outcome(Status.SUCCESS))
        }
        assertNotNull(pending)

        val cp = gov.checkpoint()!!
        gov.shutdown() // closes the pending approval as unknown, writes a checkpoint
        gov.close()

        // Verify offline with the public key and the kept checkpoint.
        val report = verify(evidence, listOf(key.publicPem()), cp.json)
        assertEquals(0, report.exitCode, report.json)
        assertEquals(Integrity.Valid, report.integrity)
        assertEquals(Completeness.Complete(cp.seq), report.completeness)
        assertEquals(6UL, report.kinds["decision"])
        assertEquals(6UL, report.kinds["outcome"]) // 3 run, 2 denied, 1 closed as unknown

        // A bundle verifies on its own.
        val bundle = File(tmp, "audit.lfb").path
        assertEquals(report.records, export(evidence, bundle, ExportFormat.BUNDLE))
        assertEquals(0, verify(bundle, listOf(key.publicPem())).exitCode)
        // With only the keys it ships, who signed is not proven: never "valid".
        val unpinned = verify(bundle)
        assertEquals(4, unpinned.exitCode)
        assertFalse(unpinned.pinned)

        // Tampering with a stored record is found, at that record.
        val segment = Files.list(File(evidence, "segments").toPath()).use { s -> s.toList().sorted().first().toFile() }
        val text = segment.readText()
        assertTrue(text.contains("cargo test"))
        segment.writeText(text.replaceFirst("cargo test", "cargo tost"))
        val tampered = verify(evidence, listOf(key.publicPem()), cp.json)
        assertEquals(1, tampered.exitCode, tampered.json)
        val broken = tampered.integrity as Integrity.Broken
        // seq 0-1: the first read and its outcome; 2-3: the denied read; 4: "cargo test".
        assertEquals(4UL, broken.seq)
    }

    @Test
    fun `a key written to files is read back`() {
        val key = KeyPair.generate()
        val path = File(tmp, "agent.key").path
        key.writeFiles(path)
        assertEquals(key.id(), KeyPair.fromFile(path).id())
        assertEquals(key.publicPem().trim(), File("$path.pub").readText().trim())
        assertNotEquals(key.id(), KeyPair.generate().id())
    }

    @Test
    fun `threads share a policy set and a governor`() {
        val policies = PolicySet(listOf(Policy.fromYaml(POLICY, "agent.yaml")))
        val key = KeyPair.generate()
        val evidence = File(tmp, "shared").path
        val gov = Governor.open(evidence, policies, key, GovernorOptions(durability = Durability.NONE))
        val pool = Executors.newFixedThreadPool(4)
        val futures = (0 until 4).map { t ->
            pool.submit<List<Effect>> {
                (0 until 25).map { i ->
                    val cmd = if (i % 5 == 0) "git push -f" else "echo $t $i"
                    val a = action("bash", """{"command": "$cmd"}""")
                    assertEquals(if (i % 5 == 0) Effect.DENY else Effect.ALLOW, policies.decide(a).effect)
                    val g = gov.decide(a)
                    if (g.allowed) gov.record(g.id, Outcome(Status.SUCCESS))
                    g.decision.effect
                }
            }
        }
        val effects = futures.flatMap { it.get(60, TimeUnit.SECONDS) }
        pool.shutdown()
        assertEquals(20, effects.count { it == Effect.DENY })
        gov.shutdown()
        val r = verify(evidence, listOf(key.publicPem()))
        assertEquals(0, r.exitCode, r.json)
        assertEquals(100UL, r.kinds["decision"])
        assertEquals(100UL, r.kinds["outcome"])
    }
}

class ErrorsTest {
    @TempDir
    lateinit var tmp: File

    @Test
    fun `a bad policy is a policy error naming origin, rule and line`() {
        val bad = "version: 1\nname: p\ndefault: deny\nrules:\n  - id: broken\n    effect: allow\n    when: action.tool ==\n"
        val e = assertThrows(LumenFlowException.Policy::class.java) { Policy.fromYaml(bad, "bad.yaml") }
        assertTrue(e.message!!.startsWith("bad.yaml:"), e.message)
        assertTrue(e.message!!.contains("broken"), e.message)
        val missing = assertThrows(LumenFlowException.Policy::class.java) { Policy.fromFile(File(tmp, "nope.yaml").path) }
        assertTrue(missing.message!!.contains("nope.yaml"), missing.message)
        assertThrows(LumenFlowException.Policy::class.java) { PolicySet.fromFiles(listOf(File(tmp, "nope.yaml").path)) }
    }

    @Test
    fun `bad actions and contexts are action errors`() {
        assertThrows(LumenFlowException.Action::class.java) { Action("not json") }
        val e = assertThrows(LumenFlowException.Action::class.java) { Action("""{"tool": "x", "bogus": 1}""") }
        assertTrue(e.message!!.contains("bogus"), e.message)
        assertThrows(LumenFlowException.Action::class.java) { Action("""{"tool": 5}""") }
        assertThrows(LumenFlowException.Action::class.java) { Context("[1, 2]") }
        assertThrows(LumenFlowException.Action::class.java) { Context("{") }
        // Every subclass is a LumenFlowException.
        assertThrows(LumenFlowException::class.java) { Action("") }
    }

    @Test
    fun `input over the limits fails closed`() {
        val deep = "[".repeat(40) + "]".repeat(40)
        val set = PolicySet(listOf(Policy.fromYaml(POLICY, "agent.yaml")))
        val d = set.decide(Action("""{"tool": "bash", "args": {"command": "ls", "x": $deep}}"""))
        assertEquals(Effect.DENY, d.effect)
        assertEquals(DecidedBy.INVALID_INPUT, d.decidedBy)
        // An empty set denies everything.
        assertEquals(Effect.DENY, PolicySet(emptyList()).decide(action("bash", """{"command": "ls"}""")).effect)
    }

    @Test
    fun `key, evidence and invalid errors`() {
        assertThrows(LumenFlowException.Key::class.java) { KeyPair.fromFile(File(tmp, "none.key").path) }
        assertThrows(LumenFlowException.Key::class.java) { KeyPair.fromPem("garbage", "test key") }
        val k = assertThrows(LumenFlowException.Key::class.java) { verifyJsonl(ByteArray(0), listOf("not a key")) }
        assertTrue(k.message!!.contains("trusted_keys[0]"), k.message)
        assertThrows(LumenFlowException.Evidence::class.java) { verify(File(tmp, "none").path) }
        assertThrows(LumenFlowException.Evidence::class.java) { verifyJsonl(ByteArray(0), emptyList(), "{}") }
        assertThrows(LumenFlowException.Invalid::class.java) { canonicalJson("{") }
    }
}

class PolicyTestsTest {
    @TempDir
    lateinit var tmp: File

    @Test
    fun `the example policy passes its own tests`() {
        val set = PolicySet.fromFiles(listOf(File(ROOT, "examples/policies/software-delivery.yaml").path))
        assertEquals("software-delivery", set.policies().single().name())
        val r = runPolicyTests(set, File(ROOT, "examples/policies/software-delivery.tests.yaml").path)
        assertEquals(0UL, r.failed, r.failures.toString())
        assertTrue(r.passed >= 10UL)
    }

    @Test
    fun `a wrong expectation fails, named`() {
        val tests = File(tmp, "t.yaml")
        tests.writeText(
            """
            cases:
              - name: force push is fine
                action: {tool: bash, args: {command: "git push -f"}}
                expect: allow
              - name: ls is fine
                action: {tool: bash, args: {command: "ls"}}
                expect: allow
            """.trimIndent(),
        )
        val set = PolicySet(listOf(Policy.fromYaml(POLICY, "agent.yaml")))
        val r = runPolicyTests(set, tests.path)
        assertEquals(1UL, r.passed)
        assertEquals(listOf("force push is fine"), r.failures.map { it.name })
        assertEquals(2UL, r.failures.single().line)
    }
}
